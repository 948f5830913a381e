"""Benchmark the offline generators honestly: the share of the optimum profit their best player makes.

Run by hand from the project root: `python -m bench.search` (about a quarter of an hour on two cores; `--quick`
runs 100 evaluations and 2 search seeds). For each game, generator and search seed, one job of `local:gp` or
`local:random` runs MAX evaluations (one try a turn, so a candidate is an evaluation) on the game's training
seeds. At each checkpoint the player selection would pick — the best on the training seeds so far — is scored
on the game's held-out seeds, which the search never saw, and its share of the optimum profit is
(score - idle) / (optimum - idle) summed over those seeds (`evolver.games.share`; the optimum is the exact
solver's). A job's candidates do not depend on how long it is planned to run, so the checkpoints of one long job
are what shorter jobs would have found. Printed: the median and the spread (min to max) over the search seeds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from evolver.engine import Engine
from evolver.games import SeedReference, references, share
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool
from simcore import load_scenario

GAMES = ("hidden_bots", "ai3_plugins")  # the randomised fee-free game (held-out seeds) and the deterministic one
MODELS = ("local:gp", "local:random")
CHECKPOINTS = (100, 300, 1000)
SEARCH_SEEDS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class Run:
    game: str
    model: str
    search_seed: int
    shares: dict[int, float | None]  # checkpoint -> the held-out share of its selected player
    seconds: float


def held_out(game: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The game's training seeds and the seeds its share is reported on: the held-out ones, or for a
    deterministic game (no held-out seeds) its training seeds."""
    loaded = load_scenario(game).game
    assert loaded is not None
    return tuple(loaded.train), tuple(loaded.heldout or loaded.train)


def run(game: str, model: str, search_seed: int, checkpoints: Sequence[int], folder: str) -> Run:
    """One job of max(checkpoints) evaluations, its selected player at each checkpoint scored on held-out seeds."""
    started = time.perf_counter()
    train, report = held_out(game)
    refs = references(load_scenario(game), report)
    settings = Settings(database_url=f"sqlite:///{Path(folder) / f'{game}-{model[6:]}-{search_seed}.db'}")
    store = Store(settings.database_url)
    store.upgrade()
    spec = JobSpec(
        scenario=game, models=(model,), generations=max(checkpoints), attempts=1, seed=search_seed, seeds=train,
        heldout=(),
    )  # fmt: skip
    with SandboxPool(workers=1) as pool:
        job_id = Engine(store, settings, pool).execute(spec)
        lineage = store.lineage(job_id)
        shares: dict[int, float | None] = {}
        best = None
        for spent, candidate in enumerate(lineage, start=1):
            if candidate.score is not None and (best is None or candidate.score > best.score):
                best = candidate
            if spent in checkpoints:
                shares[spent] = None if best is None else _share(pool, best.code, game, refs)
    store.close()
    return Run(game, model, search_seed, shares, time.perf_counter() - started)


def _share(pool: SandboxPool, code: str, game: str, refs: Sequence[SeedReference]) -> float | None:
    evaluation = pool.evaluate(code, game, [ref.seed for ref in refs])
    if not evaluation.ok:
        return None
    return share([seed["usdc"] for seed in evaluation.per_seed], refs)


def spread(values: Sequence[float | None]) -> str:
    """`median [min, max]` as percentages, over the values that exist."""
    found = [value for value in values if value is not None]
    if not found:
        return "—"
    return f"{statistics.median(found) * 100:5.1f} % [{min(found) * 100:5.1f}, {max(found) * 100:5.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 evaluations and 2 search seeds")
    parser.add_argument("--workers", type=int, default=2, help="jobs run side by side (default: 2)")
    args = parser.parse_args()
    checkpoints, seeds = ((100,), SEARCH_SEEDS[:2]) if args.quick else (CHECKPOINTS, SEARCH_SEEDS)
    places = {game: "held-out seeds" if held_out(game)[0] != held_out(game)[1] else "its one market" for game in GAMES}
    jobs = [(game, model, seed) for seed in seeds for game in GAMES for model in MODELS]  # generators interleaved
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(args.workers) as executor:
        futures = [executor.submit(run, *job, checkpoints, folder) for job in jobs]
        runs = []
        for future in futures:
            done = future.result()
            runs.append(done)
            print(f"{done.game} {done.model} search seed {done.search_seed}: {done.seconds:.0f} s, shares "
                  + ", ".join(f"{n}: {spread([s])}" for n, s in done.shares.items()))  # fmt: skip
    for game in GAMES:
        print(f"\n{game}: share of the optimum profit on {places[game]}, median [min, max] over {len(seeds)} search "
              "seeds")  # fmt: skip
        print(f"{'evaluations':14}" + "".join(f"{n:>26}" for n in checkpoints))
        for model in MODELS:
            chosen = [r for r in runs if r.game == game and r.model == model]
            print(f"{model:14}" + "".join(f"{spread([r.shares[n] for r in chosen]):>26}" for n in checkpoints))


if __name__ == "__main__":
    main()
