"""Benchmark the offline search: `local:gp` against the `local:random` baseline on the ai3_plugins slot.

Run by hand from the project root: `python -m bench.evolve`. Each generator runs its own job with one try
per turn, so both spend exactly EVALUATIONS evaluations on the same evaluation seeds; the figures are the
best score after a number of evaluations, and gp's best as a ratio of random's.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool

EVALUATIONS = 300
CHECKPOINTS = (10, 30, 100, 200, 300)
SEED = 7


def best_after(store: Store, job_id: int) -> dict[int, float]:
    """The best score seen after each checkpoint's number of evaluations (failed candidates count too)."""
    best, curve = float("-inf"), {}
    for spent, candidate in enumerate(store.lineage(job_id), start=1):
        if candidate.score is not None:
            best = max(best, candidate.score)
        if spent in CHECKPOINTS:
            curve[spent] = best
    return curve


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, SandboxPool(workers=1) as pool:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}")
        store = Store(settings.database_url)
        store.upgrade()
        curves = {}
        for model in ("local:gp", "local:random"):
            spec = JobSpec(scenario="ai3_plugins", models=(model,), generations=EVALUATIONS, attempts=1, seed=SEED)
            start = time.perf_counter()
            job_id = Engine(store, settings, pool).execute(spec)
            curves[model] = best_after(store, job_id)
            print(f"{model}: {EVALUATIONS} evaluations in {time.perf_counter() - start:.1f} s")
    print("best usdc after N evaluations (the slot starts with 50 USDC):")
    print("N      " + "".join(f"{n:>10}" for n in CHECKPOINTS))
    for model, curve in curves.items():
        print(f"{model:13}" + "".join(f"{curve.get(n, float('nan')):>10.3f}" for n in CHECKPOINTS))
    gp, random = curves["local:gp"][EVALUATIONS], curves["local:random"][EVALUATIONS]
    verdict = "beats" if gp > random else "does NOT beat"
    print(f"after {EVALUATIONS}: local:gp {gp:.3f} vs local:random {random:.3f}: gp/random {gp / random:.3f}x; "
          f"gp {verdict} random")  # fmt: skip


if __name__ == "__main__":
    main()
