"""Benchmark the offline search: `local:gp` against the `local:random` baseline on the ai3_plugins slot.

Run by hand from the project root: `python -m bench.evolve`. Each generator runs its own job with one try
per turn, so both spend exactly EVALUATIONS evaluations on the same evaluation seeds; the figures are the
best score after a number of evaluations, and gp's best as a ratio of random's.

It also times, in the same runs, what the default SQLite store spends writing (every write of the job: the
cached reply, the candidate with its evaluation, the phase and status) against what the sandbox spends
evaluating, per candidate: the median of the RUNS jobs of each generator.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool

EVALUATIONS = 300
CHECKPOINTS = (10, 30, 100, 200, 300)
SEED = 7
RUNS = 3
WRITES = ("create_job", "set_job_status", "set_job_phase", "cache_reply", "add_candidate", "add_match", "retire")


class Clock:
    """Seconds spent in the wrapped calls."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(call)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


class TimedStore(Store):
    """The store, with the time spent in its writes counted."""

    def __init__(self, url: str, clock: Clock) -> None:
        super().__init__(url)
        for name in WRITES:
            setattr(self, name, clock.wrap(getattr(self, name)))


class TimedPool:
    """A sandbox pool with the time spent in its evaluations counted."""

    def __init__(self, pool: SandboxPool, clock: Clock) -> None:
        self.workers = pool.workers
        self.evaluate = clock.wrap(pool.evaluate)


def per_candidate_ms(clock: Clock, candidates: int) -> float:
    return clock.seconds / candidates * 1e3


def best_after(store: Store, job_id: int) -> dict[int, float]:
    """The best score seen after each checkpoint's number of evaluations (failed candidates count too)."""
    best, curve = float("-inf"), {}
    for spent, candidate in enumerate(store.lineage(job_id), start=1):
        if candidate.score is not None:
            best = max(best, candidate.score)
        if spent in CHECKPOINTS:
            curve[spent] = best
    return curve


def run(model: str, folder: Path, pool: SandboxPool, index: int) -> tuple[dict[int, float], float, float]:
    """One job of EVALUATIONS candidates in a fresh store: its curve, and the store's write time and the sandbox's
    evaluation time per candidate, in ms."""
    writes, evaluations = Clock(), Clock()
    settings = Settings(database_url=f"sqlite:///{folder / f'bench-{index}.db'}")
    store = TimedStore(settings.database_url, writes)
    store.upgrade()
    spec = JobSpec(scenario="ai3_plugins", models=(model,), generations=EVALUATIONS, attempts=1, seed=SEED)
    job_id = Engine(store, settings, TimedPool(pool, evaluations)).execute(spec)  # type: ignore[arg-type]
    curve = best_after(store, job_id)
    store.close()
    return curve, per_candidate_ms(writes, EVALUATIONS), per_candidate_ms(evaluations, EVALUATIONS)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def main() -> None:
    curves: dict[str, dict[int, float]] = {}
    writes: list[float] = []
    evaluations: list[float] = []
    with tempfile.TemporaryDirectory() as name, SandboxPool(workers=1) as pool:
        for index in range(RUNS):  # the generators interleaved
            for model in ("local:gp", "local:random"):
                start = time.perf_counter()
                curves[model], written, evaluated = run(model, Path(name), pool, len(writes))
                writes.append(written)
                evaluations.append(evaluated)
                seconds = time.perf_counter() - start
                print(f"run {index + 1} {model}: {EVALUATIONS} evaluations in {seconds:.1f} s, per candidate: "
                      f"store writes {written:.2f} ms, sandbox evaluation {evaluated:.2f} ms")  # fmt: skip
    print(f"per candidate, median of {len(writes)} jobs: store writes {median(writes):.2f} ms, sandbox evaluation "
          f"{median(evaluations):.2f} ms: writes/evaluation {median(writes) / median(evaluations):.3f}x")  # fmt: skip
    print("best usdc after N evaluations (the slot starts with 50 USDC; the runs repeat exactly):")
    print("N      " + "".join(f"{n:>10}" for n in CHECKPOINTS))
    for model, curve in curves.items():
        print(f"{model:13}" + "".join(f"{curve.get(n, float('nan')):>10.3f}" for n in CHECKPOINTS))
    gp, random = curves["local:gp"][EVALUATIONS], curves["local:random"][EVALUATIONS]
    verdict = "beats" if gp > random else "does NOT beat"
    print(f"after {EVALUATIONS}: local:gp {gp:.3f} vs local:random {random:.3f}: gp/random {gp / random:.3f}x; "
          f"gp {verdict} random")  # fmt: skip


if __name__ == "__main__":
    main()
