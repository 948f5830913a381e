"""simcore: an AI3-compatible token-economy simulator. Pure computation; usable alone as a library."""

from simcore.engine import Handles, Result, Simulator, day_count, simulate
from simcore.errors import (
    InvalidAction,
    InvalidOutput,
    InvariantViolation,
    PluginError,
    ScenarioError,
    SimulationError,
    VariableError,
)
from simcore.fuzz import FuzzResult, Span, Winner, fuzz, make_cases
from simcore.montecarlo import MonteCarloResult, monte_carlo, run_seed
from simcore.plugins import Plugin, PluginSpec
from simcore.scenario import Player, Scenario, builtin_names, load_scenario
from simcore.seat import SlotOutcome, play
from simcore.slot import Slot
from simcore.variables import Variable, compute, var

__all__ = [
    "FuzzResult",
    "Handles",
    "InvalidAction",
    "InvalidOutput",
    "InvariantViolation",
    "MonteCarloResult",
    "Player",
    "Plugin",
    "PluginError",
    "PluginSpec",
    "Result",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "Simulator",
    "Slot",
    "SlotOutcome",
    "Span",
    "Variable",
    "VariableError",
    "Winner",
    "builtin_names",
    "compute",
    "day_count",
    "fuzz",
    "load_scenario",
    "make_cases",
    "monte_carlo",
    "play",
    "run_seed",
    "simulate",
    "var",
]
