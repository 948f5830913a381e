"""The comp: how a new result compares with an old one, with AI3's meaning (0 improved, 1 same, 2 worse).

A comp is a slot metric to maximise or minimise (`usdc`, `max:value`, `min:refused`), or the name of a
function in the scenario module (`fn:my_comp`) called `my_comp(old_metrics, new_metrics)` and returning
0, 1 or 2.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from evolver.errors import EvolverError
from simcore import Scenario

IMPROVED, SAME, WORSE = 0, 1, 2
Metrics = Mapping[str, float]


class CompError(EvolverError):
    """A comp that names no metric or function of the scenario, or a comp function that misbehaves."""


@dataclass(frozen=True)
class Comp:
    """The comp of a job: `metric` is the score shown (the slot's comp for a function comp)."""

    metric: str
    direction: str  # "max" | "min"
    function: Callable[[Metrics, Metrics], int] | None = None
    text: str = ""

    def score(self, metrics: Metrics) -> float:
        """The number a candidate is ranked and shown by."""
        return metrics[self.metric]

    def compare(self, old: Metrics, new: Metrics) -> int:
        """IMPROVED (0), SAME (1) or WORSE (2): `new` against `old`."""
        if self.function is not None:
            verdict = self.function(old, new)
            if verdict not in (IMPROVED, SAME, WORSE):
                raise CompError(f"comp {self.text!r} returned {verdict!r}; it must return 0, 1 or 2")
            return verdict
        a, b = old[self.metric], new[self.metric]
        if a == b:
            return SAME
        return IMPROVED if (b > a) == (self.direction == "max") else WORSE

    def better(self, a: float, b: float) -> bool:
        """Whether score `a` ranks above score `b`."""
        return a > b if self.direction == "max" else a < b


def parse_comp(text: str | None, scenario: Scenario) -> Comp:
    """The comp named by `text` (None: the slot's own) for `scenario`, checked against its slot's metrics."""
    slot = scenario.slot
    if slot is None:
        raise CompError(f"scenario {scenario.name!r} has no slot for an evolved player")
    if not text:
        return Comp(slot.comp, slot.direction, text=f"{slot.direction}:{slot.comp}")
    if text.startswith("fn:"):
        name = text[3:]
        function = None if name.startswith("_") else getattr(scenario.module, name, None)
        if not (inspect.isfunction(function) and _takes_two(function)):
            raise CompError(f"comp {text!r}: the scenario module has no function {name!r}(old, new) -> 0 | 1 | 2")
        return Comp(slot.comp, slot.direction, function, text)
    direction, _, metric = text.rpartition(":")
    if direction not in ("", "max", "min"):
        raise CompError(f"comp {text!r}: expected METRIC, max:METRIC, min:METRIC or fn:NAME")
    known = slot.metric_names
    if metric not in known:
        raise CompError(f"comp {text!r}: {metric!r} is not a metric of the slot (metrics: {', '.join(known)})")
    direction = direction or (slot.direction if metric == slot.comp else "max")
    return Comp(metric, direction, text=f"{direction}:{metric}")


def _takes_two(function: Callable[..., object]) -> bool:
    """Can `function` be called with two positional arguments (old metrics, new metrics)?"""
    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        return False
    return True
