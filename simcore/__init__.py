"""simcore: an AI3-compatible token-economy simulator. Pure computation; usable alone as a library."""

from simcore.engine import Handles, Result, Simulator, day_count, simulate
from simcore.errors import PluginError, ScenarioError, SimulationError, VariableError
from simcore.plugins import Plugin, PluginSpec
from simcore.scenario import Player, Scenario, builtin_names, load_scenario
from simcore.variables import Variable, compute, var

__all__ = [
    "Handles",
    "Player",
    "Plugin",
    "PluginError",
    "PluginSpec",
    "Result",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "Simulator",
    "Variable",
    "VariableError",
    "builtin_names",
    "compute",
    "day_count",
    "load_scenario",
    "simulate",
    "var",
]
