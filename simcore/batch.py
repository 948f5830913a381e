"""Many simulations of one scenario, in this process or in forked worker processes, with the same answers.

Each job is (variable overrides, seed) and is deterministic, so results do not depend on how jobs are
split between processes; they are returned in job order. Workers are forked from this process, so a
scenario with lambdas or one loaded from a file needs no pickling (Linux's fork start method).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from simcore.checks import is_count
from simcore.engine import Runs
from simcore.errors import SimulationError
from simcore.scenario import Scenario
from simcore.variables import constant_overrides, with_overrides

Job = tuple[Mapping[str, Any], int]
Outcome = tuple[dict[str, Any], dict[str, Any]]
Progress = Callable[[int, int], None]
Runner = Callable[[Scenario, Sequence[Job], float, int, Progress | None], Iterable[Outcome]]
"""What runs many jobs: `run_many`, or another executor with its signature (the service's Celery workers)."""

_worker: tuple[Scenario, float] | None = None


def _simulate_all(scenario: Scenario, years: float, jobs: Sequence[Job]) -> list[Outcome]:
    runs, variables = None, scenario.variables
    outcomes = []
    for overrides, seed in jobs:
        try:
            runs = runs or Runs(scenario, years, stats=False)  # made in the first run: its errors name the run
            if constant_overrides(variables, overrides):  # taken as values: no new definitions each run
                result = runs(variables, seed, overrides)
            else:
                result = runs(with_overrides(variables, overrides), seed)
        except SimulationError as exc:  # say which of the many runs it was
            raise type(exc)(f"{exc} (in the run {run_name(overrides, seed)})") from exc
        outcomes.append((result.nvars, result.res))
    return outcomes


def run_name(overrides: Mapping[str, Any], seed: int) -> str:
    """A run of many, as an error names it: `seed 7 with x=1, y=2`."""
    values = ", ".join(f"{key}={value!r}" for key, value in overrides.items())
    return f"seed {seed}" + (f" with {values}" if values else "")


def _init_worker(scenario: Scenario, years: float) -> None:
    global _worker
    _worker = (scenario, years)


def _work(jobs: Sequence[Job]) -> list[Outcome]:
    assert _worker is not None, "worker used before its initializer ran"
    return _simulate_all(_worker[0], _worker[1], jobs)


def _chunks(jobs: Sequence[Job], workers: int) -> list[Sequence[Job]]:
    size = max(1, min(64, len(jobs) // (workers * 32)))
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def run_many(
    scenario: Scenario, jobs: Sequence[Job], years: float, workers: int = 1, progress: Progress | None = None
) -> Iterator[Outcome]:
    """(nvars, res) of each job, in job order; `progress(done, total)` is called as chunks finish."""
    if not is_count(workers, 1):
        raise SimulationError(f"workers must be a whole number >= 1, got {workers!r}")
    total = len(jobs)
    done = 0
    workers = min(workers, max(1, total))
    if workers == 1:
        for chunk in _chunks(jobs, 1):
            yield from _simulate_all(scenario, years, chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, _init_worker, (scenario, years)) as pool:
        chunks = _chunks(jobs, workers)
        try:
            for chunk, outcomes in zip(chunks, pool.imap(_work, chunks), strict=True):
                yield from outcomes
                done += len(chunk)
                if progress:
                    progress(done, total)
        except multiprocessing.pool.MaybeEncodingError as exc:
            raise SimulationError(f"a result could not be sent back from a worker process: {exc}") from exc
