"""A scenario's criteria: the rows of a design matrix (Ocean Market's slides judge each design on such rows), each a
KPI spec with a threshold (`simcore.verification.spec`), judged on the house's own runs or against an adversary.

A scenario may declare `criteria`, a sequence of `Criterion` or of dicts of its fields:

- `name`: the criterion in the words of whoever set it ("Solves price spikes at beginning");
- `spec`: the KPI and its threshold, e.g. `ido_runup <= 2` (read at the end of a run, or `at every day`);
- `judge`: `house` (the default: checked on runs with the game's reference player in the slot, or on plain runs
  without a slot) or `adversary` (checked seed by seed on the worse of an evolved adversary's KPI in the slot and
  the house player's: it must hold against both). An adversary's criterion reads a slot metric of the same name.

`evolver verify` fills the matrix: a column per scenario, a row per criterion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simcore.errors import ScenarioError

JUDGES = ("house", "adversary")


@dataclass(frozen=True)
class Criterion:
    """One row of a design matrix: its name, its spec and who is judged (see the module doc)."""

    name: str
    spec: str
    judge: str = "house"

    def __post_init__(self) -> None:
        for field in ("name", "spec"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ScenarioError(f"criterion {field} must be a non-empty text, got {value!r}")
        if self.judge not in JUDGES:
            raise ScenarioError(f"criterion {self.name!r}: judge must be 'house' or 'adversary', got {self.judge!r}")


def criteria_for(spec: Any, has_slot: bool) -> tuple[Criterion, ...]:
    """A scenario's declared criteria, checked: names distinct, and an adversary's only where a slot seats one."""
    if spec is None:
        return ()
    if not isinstance(spec, Sequence) or isinstance(spec, str):
        raise ScenarioError(f"criteria must be a list of criteria, got {spec!r}")
    found = tuple(_criterion(item) for item in spec)
    names = [criterion.name for criterion in found]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ScenarioError(f"criteria {repeated} are named twice")
    if not has_slot and any(criterion.judge == "adversary" for criterion in found):
        raise ScenarioError("a criterion judged against an adversary needs a slot to seat the adversary in")
    return found


def _criterion(item: Any) -> Criterion:
    if isinstance(item, Criterion):
        return item
    if isinstance(item, Mapping) and set(item) <= {"name", "spec", "judge"}:
        return Criterion(**item)
    raise ScenarioError(f"a criterion is a Criterion or a dict of name, spec and judge, got {item!r}")
