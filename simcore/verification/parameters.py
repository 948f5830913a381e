"""The parameters a verification varies: scenario variables with bounds (a component parameter's) or given values.

A parameter is named as `simcore.montecarlo`'s `vary` names one: its values are given, or None takes its component
parameter's bounds. Unknown names, outputs (variables computed from the run) and values outside the bounds are
refused with the bounds named (`simcore.fuzz.case_ranges`'s checks). An open end of the bounds is replaced by the
nearest float inside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from simcore.checks import is_count, is_number
from simcore.errors import SimulationError
from simcore.fuzz import Span, case_ranges
from simcore.variables import Variable, require_known, with_overrides

LevelSpec = Sequence[float] | int | None
RangeSpec = tuple[float, float] | None


def check_parameters(variables: Mapping[str, Variable], names: Sequence[str], overrides: Mapping[str, Any]) -> None:
    """Refuse no parameters, unknown ones, outputs, and a parameter that is also fixed by an override."""
    if not names:
        raise SimulationError("no parameter to vary: name at least one scenario variable")
    for name in [*names, *overrides]:
        require_known(name, variables)
    fixed = next((name for name in names if name in overrides), None)
    if fixed is not None:
        raise SimulationError(f"{fixed!r} is both fixed and varied: leave out one of them")
    with_overrides(variables, dict.fromkeys(names))  # refuses an output, as fixing one is refused


def bounds_range(variables: Mapping[str, Variable], name: str) -> tuple[float, float]:
    """The closed range of floats inside `name`'s bounds; SimulationError if it has none (no component's)."""
    span = case_ranges(variables, {name: None}, sample="random")[name]
    assert isinstance(span, Span)
    bounds = variables[name].bounds
    assert bounds is not None
    high = math.nextafter(bounds.high, -math.inf) if bounds.high_open else bounds.high
    return span.start, high


def parameter_levels(
    variables: Mapping[str, Variable], params: Mapping[str, LevelSpec], levels: int = 3
) -> dict[str, list[float]]:
    """Each parameter's levels: given values (checked against its bounds), or `k` (an int; None: `levels`) values
    evenly over its bounds, both ends included."""
    out = {}
    for name, spec in params.items():
        if spec is None or isinstance(spec, int):
            k = levels if spec is None else spec
            if not is_count(k, 2):
                raise SimulationError(f"{name!r}: a number of levels must be a whole number >= 2, got {k!r}")
            low, high = bounds_range(variables, name)
            out[name] = [low + (high - low) * j / (k - 1) for j in range(k - 1)] + [high]
            continue
        values = list(spec)
        if not values or not all(is_number(x) for x in values):
            raise SimulationError(f"{name!r}: levels must be one or more finite numbers, got {spec!r}")
        if len(set(values)) != len(values):
            raise SimulationError(f"{name!r}: levels must differ from each other, got {spec!r}")
        case_ranges(variables, {name: values})
        out[name] = [float(x) for x in values]
    return out


def parameter_ranges(variables: Mapping[str, Variable], params: Mapping[str, RangeSpec]) -> dict[str, list[float]]:
    """Each parameter's [low, high]: given (checked against its bounds), or None for its bounds."""
    out = {}
    for name, spec in params.items():
        if spec is None:
            out[name] = list(bounds_range(variables, name))
            continue
        pair = list(spec)
        if len(pair) != 2 or not all(is_number(x) for x in pair) or not pair[0] < pair[1]:
            raise SimulationError(f"{name!r}: a range is two finite numbers (low, high) with low < high, got {spec!r}")
        case_ranges(variables, {name: pair})
        out[name] = [float(x) for x in pair]
    return out
