"""The one exception family of simcore: every failure a user can cause is a SimulationError."""


class SimulationError(Exception):
    """A scenario, a variable, a player or an input could not be simulated; the message says which."""


class ScenarioError(SimulationError):
    """A scenario could not be found or loaded, or is malformed."""


class VariableError(SimulationError):
    """A variable is unknown, failed to compute, or is part of a cycle."""


class PluginError(SimulationError):
    """A plugin was misconfigured or refused an action (bad amount, a trade that would drain a pool)."""


class InvalidAction(SimulationError):  # noqa: N818 - named for what the player did
    """An evolved player called an action wrongly: a bad amount, an unknown action, or too many actions in a day."""


class InvalidOutput(SimulationError):  # noqa: N818 - named for what the player did
    """An evolved player's return value, or a metric of its run, is not a finite number."""


class InvariantViolation(SimulationError):  # noqa: N818 - named for what broke
    """A slot invariant (no negative balance, conservation, or one the scenario adds) broke; the message names it."""


def player_failed(key: str, day: int, exc: Exception) -> SimulationError:
    """What a run raises when a player does."""
    return SimulationError(f"player {key!r} failed on day {day}: {type(exc).__name__}: {exc}")


def plugin_failed(key: str, day: int, exc: Exception) -> SimulationError:
    """What a run raises when a plugin does at a day's end (its state then may not mean anything)."""
    return SimulationError(f"plugin {key!r} failed at the end of day {day}: {type(exc).__name__}: {exc}")
