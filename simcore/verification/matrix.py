"""A design matrix: each criterion of a scenario (`simcore.criteria`) judged on Monte Carlo runs, a cell per criterion.

A house criterion is judged on `runs` seeds (run `k`: `run_seed(seed, k)`), with the game's reference player in the
slot when the scenario has one (its KPIs are the seat's as much as the market's), else on plain runs. An adversary's
criterion is judged, seed by seed, on the worse of the adversary's KPI and the house player's, given the adversary's
metrics on the same seeds (`adversary_cells`; evolving the adversary is the evolution service's job). A cell holds
when its spec holds on at least `pass_rate` of the runs; it keeps every run's KPI, so the numbers behind a ✓ or a ✗
are there.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from simcore.batch import Progress
from simcore.criteria import Criterion
from simcore.engine import ScenarioRef
from simcore.errors import SimulationError
from simcore.montecarlo import run_seed
from simcore.scenario import Scenario, load_scenario
from simcore.verification.report import matrix_chart, plain
from simcore.verification.runs import Runner, observation, observed, seated_runner
from simcore.verification.spec import Observation, Spec, as_specs, parse_spec
from simcore.verification.yields import proportion_interval

if TYPE_CHECKING:
    import pandas as pd

PASS_RATE = 0.9  # the share of runs a criterion must hold on for its cell to be a ✓


@dataclass(frozen=True)
class Cell:
    """One criterion on one design: every run's seed and KPI (an adversary's: its excess over the house's), whether
    the spec held, and the interval of the share it held on."""

    criterion: Criterion
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    held: tuple[bool, ...]
    interval: tuple[float, float]

    @property
    def share(self) -> float:
        """The share of runs the criterion held on."""
        return sum(self.held) / len(self.held)

    def verdict(self, pass_rate: float = PASS_RATE) -> bool:
        """Whether the criterion holds for the design: on at least `pass_rate` of the runs."""
        return self.share >= pass_rate

    def median(self) -> float:
        """The median KPI over the runs (NaN runs last)."""
        ordered = sorted(self.values, key=lambda x: (x != x, x))
        return ordered[(len(ordered) - 1) // 2]

    def text(self, pass_rate: float = PASS_RATE) -> str:
        """`✓ 30/30 · 0.0123`: the verdict, the runs it held on and the median KPI."""
        mark = "✓" if self.verdict(pass_rate) else "✗"
        return f"{mark} {sum(self.held)}/{len(self.held)} · {self.median():.4g}"

    def to_dict(self, pass_rate: float = PASS_RATE) -> dict[str, Any]:
        return plain({
            "criterion": self.criterion.name, "spec": self.criterion.spec, "judge": self.criterion.judge,
            "holds": self.verdict(pass_rate), "share": self.share, "interval": self.interval,
            "median": self.median(), "runs": [{"seed": s, "kpi": x, "held": ok}
                                              for s, x, ok in zip(self.seeds, self.values, self.held, strict=True)],
        })  # fmt: skip


@dataclass(frozen=True)
class Column:
    """A design's cells, in its criteria's order, and what was learnt of its adversary (job, candidate, score)."""

    scenario: str
    title: str
    cells: tuple[Cell, ...]
    adversary: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Matrix:
    """Designs (columns) judged on criteria (rows); `pass_rate` makes a cell's verdict."""

    columns: tuple[Column, ...]
    pass_rate: float = PASS_RATE

    @property
    def criteria(self) -> list[str]:
        """Every criterion's name, in the order the designs declare them."""
        return list(dict.fromkeys(cell.criterion.name for column in self.columns for cell in column.cells))

    def cell(self, scenario: str, criterion: str) -> Cell | None:
        column = next(c for c in self.columns if c.scenario == scenario)
        return next((cell for cell in column.cells if cell.criterion.name == criterion), None)

    def table(self) -> pd.DataFrame:
        """A row per criterion, a column per design: each cell's verdict, runs held and median KPI."""
        import pandas as pd

        rows = {
            name: {c.scenario: (cell.text(self.pass_rate) if (cell := self.cell(c.scenario, name)) else "")
                   for c in self.columns}
            for name in self.criteria
        }  # fmt: skip
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_dict(self) -> dict[str, Any]:
        return plain({
            "pass_rate": self.pass_rate,
            "designs": [{"scenario": c.scenario, "title": c.title, "adversary": c.adversary,
                         "cells": [cell.to_dict(self.pass_rate) for cell in c.cells]} for c in self.columns],
        })  # fmt: skip

    def chart(self, target: str | Path | BinaryIO) -> None:
        """A PNG of the matrix: each cell coloured by the share of runs it held on, marked ✓ or ✗."""
        shares = [[cell.share if (cell := self.cell(c.scenario, name)) else float("nan") for c in self.columns]
                  for name in self.criteria]  # fmt: skip
        marks = [[cell.text(self.pass_rate).split(" · ")[0] if (cell := self.cell(c.scenario, name)) else ""
                  for c in self.columns] for name in self.criteria]  # fmt: skip
        matrix_chart(target, shares, marks, self.criteria, [c.title or c.scenario for c in self.columns])


def house_cells(
    scenario: ScenarioRef, runs: int, seed: int = 0, years: float | None = None, progress: Progress | None = None,
    runner: Runner | None = None,
) -> tuple[tuple[Cell, ...], list[Observation]]:  # fmt: skip
    """The scenario's house criteria judged on `runs` seeds, and every run's observation (for the adversary's)."""
    loaded = load_scenario(scenario)
    if not loaded.criteria:
        raise SimulationError(f"scenario {loaded.name!r} declares no criteria; give specs to check instead")
    specs = as_specs([criterion.spec for criterion in loaded.criteria])
    seeds = tuple(run_seed(seed, k) for k in range(runs))
    watched = observed(loaded, specs)
    chosen = runner or seated_runner(loaded)
    outcomes = chosen(watched, [({}, s) for s in seeds], loaded.years if years is None else years, 1, progress)
    seen = [observation(outcome) for outcome in outcomes]
    cells = tuple(
        judged(criterion, spec, seeds, [spec.kpi(obs) for obs in seen])
        for criterion, spec in zip(loaded.criteria, specs, strict=True)
        if criterion.judge == "house"
    )
    return cells, seen


def adversary_cells(
    scenario: Scenario, seeds: Sequence[int], house: Sequence[Observation], metrics: Sequence[Mapping[str, float]]
) -> tuple[Cell, ...]:
    """The adversary's criteria, seed by seed: the worse for the spec of the adversary's KPI (its `metrics`: a slot
    metric named by the spec) and the house player's on the same seed, so a criterion holds only against both (an
    adversary that finds less than the house's own play cannot make a design look safer)."""
    cells = []
    for criterion in scenario.criteria:
        if criterion.judge != "adversary":
            continue
        spec = parse_spec(criterion.spec)
        theirs = [Observation(m, {}, 0) for m in metrics]
        worse = [min(a, b, key=lambda seen: _margin(spec, seen)) for a, b in zip(theirs, house, strict=True)]
        cells.append(judged(criterion, spec, seeds, [spec.kpi(seen) for seen in worse]))
    return tuple(cells)


def _margin(spec: Spec, seen: Observation) -> float:
    """The spec's margin on a run, NaN (a failure) as the least."""
    margin = spec.margin(seen)
    return -math.inf if margin != margin else margin


def judged(criterion: Criterion, spec: Spec, seeds: Sequence[int], values: Sequence[float]) -> Cell:
    """A cell from every run's KPI value: where the spec's comparison holds (a NaN KPI does not)."""
    held = tuple(_compare(value, spec.op, spec.bound) for value in values)
    interval = proportion_interval(sum(held), len(held))
    return Cell(criterion, tuple(seeds), tuple(values), held, interval)


def _compare(value: float, op: str, bound: float) -> bool:
    if value != value:  # NaN
        return False
    return {">=": value >= bound, ">": value > bound, "<=": value <= bound, "<": value < bound}[op]
