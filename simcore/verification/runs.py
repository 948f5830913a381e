"""How verification runs simulations: jobs through one runner (`simcore.batch.run_many` by default), margins back.

A runner has `run_many`'s signature, `(scenario, jobs, years, workers, progress) -> (nvars, res) per job in job
order`, so another executor (Celery workers, say) can be passed instead. Its outcomes carry no daily stats, so the
scenario is wrapped (`observed`): its `after` hook also leaves in the final state, under `RECORD`, the stats columns
the specs read, and only those. The wrapper is a plain frozen dataclass of the scenario's own `after` and the column
names, so a scenario that pickles still pickles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from simcore.batch import Job, Outcome, Progress, Runner, run_many, run_name
from simcore.checks import is_count
from simcore.errors import SimulationError
from simcore.scenario import Scenario, call_hook
from simcore.verification.spec import Observation, Specs, column, known_columns

RECORD = "__verification__"  # the key of the recorded columns in a run's final state


@dataclass(frozen=True)
class Recorder:
    """A scenario's `after` hook that runs the scenario's own, then records `columns` of the daily stats in `r`."""

    after: Callable[..., Any] | None
    columns: tuple[str, ...]

    def __call__(self, **available: Any) -> None:
        call_hook(self.after, **available)
        stats = available["s"]
        series = {name: column(stats, name) for name in self.columns}
        known = known_columns(stats) if any(values is None for values in series.values()) else []
        available["r"][RECORD] = {"series": series, "days": len(stats), "columns": known}


def observed(scenario: Scenario, specs: Specs) -> Scenario:
    """`scenario` whose runs also record the stats columns `specs` read (after checking the variables they name)."""
    specs.check(scenario.variables)
    return replace(scenario, after=Recorder(scenario.after, tuple(sorted(specs.columns))))


def observation(outcome: Outcome) -> Observation:
    """What the specs read from one outcome of an `observed` scenario's run."""
    nvars, res = outcome
    record = res.get(RECORD)
    if not isinstance(record, Mapping):
        raise SimulationError("a run's state holds no recorded columns: run the scenario `observed(...)`")
    return Observation(nvars, record["series"], record["days"], record["columns"])


def run_margins(
    scenario: Scenario,
    specs: Specs,
    jobs: Sequence[Job],
    years: float,
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> list[list[float]]:
    """Each job's margin per spec, in job order: `scenario` (not yet observed) run by `runner`."""
    watched = observed(scenario, specs)
    outcomes = runner(watched, jobs, years, workers, progress)
    return [specs.margins(observation(outcome)) for outcome in outcomes]


def run_kpis(
    scenario: Scenario,
    specs: Specs,
    jobs: Sequence[Job],
    years: float,
    workers: int = 1,
    progress: Progress | None = None,
    runner: Runner = run_many,
) -> list[float]:
    """Each job's KPI value of the one spec in `specs` (see `Spec.kpi`), in job order."""
    if len(specs) != 1:
        raise SimulationError(f"a KPI is one spec's expression, got {len(specs)} specs: give one, or use the margin")
    spec = specs.items[0]
    watched = observed(scenario, specs)
    return [spec.kpi(observation(outcome)) for outcome in runner(watched, jobs, years, workers, progress)]


def seated(fn: Callable[..., Any]) -> Runner:
    """A runner that plays the trusted player `fn` (a game's reference, say) in the scenario's slot on every job, in
    this process: the house's runs of a design whose KPIs need its seat taken."""
    from simcore.seat import play  # the slot's machinery, only for a seated study
    from simcore.variables import with_overrides

    def run(scenario: Scenario, jobs: Sequence[Job], years: float, workers: int = 1, progress: Progress | None = None):
        for done, (overrides, seed) in enumerate(jobs, 1):
            played = (
                replace(scenario, variables=with_overrides(scenario.variables, overrides)) if overrides else scenario
            )
            try:
                result = play(played, fn, years, seed, stats=False).result  # rows only if its `after` reads them
            except SimulationError as exc:  # say which of the many runs it was
                raise type(exc)(f"{exc} (in the run {run_name(overrides, seed)})") from exc
            yield result.nvars, result.res
            if progress:
                progress(done, len(jobs))

    return run


def seated_runner(scenario: Scenario) -> Runner:
    """The house's runner for `scenario`: its game's reference player seated when it has one, else plain runs."""
    game = scenario.game
    return seated(game.reference) if game is not None and game.reference is not None else run_many


def mean_over_seeds(values: Sequence[float], seeds: int) -> list[float]:
    """Values of consecutive groups of `seeds` jobs (one point, several seeds) averaged; NaN if any is NaN."""
    groups = [values[i : i + seeds] for i in range(0, len(values), seeds)]
    return [math.nan if any(math.isnan(x) for x in g) else math.fsum(g) / len(g) for g in groups]


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """`seeds` as a tuple, refused unless it is one or more whole numbers >= 0."""
    seeds = tuple(seeds)
    if not seeds or not all(is_count(s, 0) for s in seeds):
        raise SimulationError(f"seeds must be one or more whole numbers >= 0, got {seeds!r}")
    return seeds
