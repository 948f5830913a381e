"""The one exception family of simcore: every failure a user can cause is a SimulationError."""


class SimulationError(Exception):
    """A scenario, a variable, a player or an input could not be simulated; the message says which."""


class ScenarioError(SimulationError):
    """A scenario could not be found or loaded, or is malformed."""


class VariableError(SimulationError):
    """A variable is unknown, failed to compute, or is part of a cycle."""


class PluginError(SimulationError):
    """A plugin was misconfigured or refused an action (bad amount, a trade that would drain a pool)."""
