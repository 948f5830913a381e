"""Benchmark the sandbox: one sandboxed evaluation against the same player unsandboxed, and the rate of
evaluations over all cores against the same rate of an earlier commit.

Run by hand from the project root: `python -m bench.sandbox [--against REF] [--runs N]`. These machines are
noisy, so every figure is a ratio against a baseline measured in the same run, interleaved with it, and the
median of the runs (never the best). The rate of this tree and of REF (default: the commit before issue 11's
work) are measured in fresh processes, alternately, each on a tree of its own (REF is exported with `git
archive` into a temporary folder). The player is a one-year `ai3_plugins` slot player.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.simulate import hand_written
from sandbox import SandboxPool
from simcore import load_scenario
from simcore.seat import play

PLAYER = """
def fn(i, v, r, s, p):
    history = r.setdefault('prices', [])
    history.append(v['price'])
    average = sum(history[-7:]) / len(history[-7:])
    if v['price'] < 0.97 * average:
        p['dex'].buyA(3)
    elif v['price'] > 1.03 * average:
        p['dex'].sellA(3)
    return average
"""
BASELINE = "9e86edb"  # the last commit before issue 11's work
REPEATS = 40
BATCH = 200
ROOT = Path(__file__).resolve().parent.parent
# Run in a fresh interpreter with a tree's root first on sys.path: that tree's evaluations per second.
RATE = """
import os, sys, time
from sandbox import SandboxPool
player, batch, seeds = {player!r}, {batch}, tuple(range({seeds}))
cores = os.cpu_count() or 1
with SandboxPool(workers=cores) as pool:
    pool.evaluate_many([(player, "ai3_plugins")] * (2 * cores), seeds, years=1)  # warm every parent
    start = time.perf_counter()
    results = pool.evaluate_many([(player, "ai3_plugins")] * batch, seeds, years=1)
    rate = batch / (time.perf_counter() - start)
assert all(result.ok for result in results), results[0]
print(rate)
"""


def median_ms(fn: Callable[[], Any], repeats: int = REPEATS) -> float:
    """Median milliseconds of `repeats` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def unsandboxed() -> Callable[[], Any]:
    """The same player as plain Python in this process: compiled once, played once per call."""
    scenario = load_scenario("ai3_plugins")
    namespace: dict[str, Any] = {}
    exec(compile(PLAYER, "<player>", "exec"), namespace)
    return lambda: play(scenario, namespace["fn"], 1, 0)


def rate_of(root: Path, seeds: int) -> float:
    """Evaluations (each on `seeds` seeds) per second over all cores, with the sandbox of the tree at `root`, in a
    fresh process."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = RATE.format(player=PLAYER, batch=BATCH, seeds=seeds)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    return float(out.stdout)


def exported(ref: str, into: str) -> Path:
    """The tree of commit `ref`, written under `into` (nothing in this checkout changes)."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return Path(into)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=BASELINE, help="the commit to compare the rate with")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs of each (at least 3)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per evaluation in the rate (default 1)")
    args = parser.parse_args()

    plain = median_ms(unsandboxed())
    with SandboxPool(workers=1) as one:
        assert one.evaluate(PLAYER, "ai3_plugins").ok
        boxed = median_ms(lambda: one.evaluate(PLAYER, "ai3_plugins", years=1))
    print(f"one evaluation: sandboxed {boxed:.2f} ms, unsandboxed {plain:.2f} ms, ratio {boxed / plain:.2f}x")

    with tempfile.TemporaryDirectory() as folder:
        baseline = exported(args.against, folder)
        ours, theirs = [], []
        for run in range(max(args.runs, 3)):
            first, second = (ROOT, baseline) if run % 2 else (baseline, ROOT)  # alternate who goes first
            rates = {first: rate_of(first, args.seeds), second: rate_of(second, args.seeds)}
            ours.append(rates[ROOT])
            theirs.append(rates[baseline])
    ratios = [mine / base for mine, base in zip(ours, theirs, strict=True)]
    print(f"{BATCH} evaluations of {args.seeds} seed(s) over {os.cpu_count()} cores, {len(ours)} interleaved runs:")
    print(f"  this tree: median {statistics.median(ours):,.1f}/s  ({', '.join(f'{r:.1f}' for r in ours)})")
    print(f"  {args.against}: median {statistics.median(theirs):,.1f}/s  ({', '.join(f'{r:.1f}' for r in theirs)})")
    print(f"  ratio this tree / {args.against}: median {statistics.median(ratios):.3f} (per run: "
          f"{', '.join(f'{r:.3f}' for r in ratios)}; target: at least 0.90)")  # fmt: skip
    reference = median_ms(hand_written, 200)
    print(f"machine speed: the hand-written quick-start loop of bench.simulate takes {reference:.3f} ms now")


if __name__ == "__main__":
    main()
