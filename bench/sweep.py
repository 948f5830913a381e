"""Benchmark a 100,000-case fuzz of `ai3_quickstart` here on one core against the same fuzz on the Celery workers
(a throwaway redis-server and one prefork worker of 2 processes, as `bench.queue` starts them).

Run by hand from the project root: `python -m bench.sweep [--rounds 3] [--iusdcl 1000]`; it needs `redis-server`.
The grid is iusdcl 10, 11, ... (1,000 values) by iail 50 ... 149 (100 values), `--find aip=max --find diff=min`, one
year each. The two paths run in alternation, each once per round, and the figures are the medians of the rounds and
their ratio, measured in the same session because these machines are noisy. Every queued fuzz must give the local
one's winners (their nvars and res too) and table, float for float (compared as JSON, which keeps a float's repr).
The client, redis-server and the worker's main process share the machine with the worker's two processes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import simcore
from bench.queue import WORKERS, celery_worker, redis_server, wait_ready
from evolver.queue import TaskQueue
from evolver.settings import Settings
from evolver.studies import celery_runner, chunk_size

SCENARIO = "ai3_quickstart"
FIND = {"aip": "max", "diff": "min"}


def timed(fuzz: Callable[[], simcore.FuzzResult], expected: str | None) -> tuple[float, str]:
    """Seconds one fuzz takes, and its result as JSON, which must be `expected` (when given)."""
    start = time.perf_counter()
    result = fuzz()
    seconds = time.perf_counter() - start
    found = json.dumps(result.to_dict())
    if expected is not None and found != expected:
        raise SystemExit("the queued fuzz and the local fuzz differ (winners or table)")
    return seconds, found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path, in alternation (default 3)")
    parser.add_argument("--iusdcl", type=int, default=1000, help="values of iusdcl, times 100 cases (default 1000)")
    options = parser.parse_args()
    cases = {"iusdcl": range(10, 10 + options.iusdcl), "iail": range(50, 150)}
    total = options.iusdcl * 100
    scenario = simcore.load_scenario(SCENARIO)
    root = Path(tempfile.mkdtemp(prefix="evolver-bench-sweep-"))
    seconds: dict[str, list[float]] = {"local": [], "queued": []}
    try:
        with (
            redis_server(root) as url,
            celery_worker(url, root),
            closing(TaskQueue(Settings(broker_url=url, result_backend=url))) as queue,
        ):
            wait_ready(queue.app, root)
            processes = queue.processes  # asked once, as a command asks: not part of the timings
            runner = celery_runner(queue, SCENARIO)
            runs = {
                "local": lambda: simcore.fuzz(scenario, cases, FIND),
                "queued": lambda: simcore.fuzz(scenario, cases, FIND, runner=runner),
            }
            expected = None
            for round_ in range(options.rounds):
                for name in sorted(runs, reverse=round_ % 2 == 1):  # alternate which goes first
                    took, found = timed(runs[name], expected)
                    expected = expected or found
                    seconds[name].append(took)
                    print(f"round {round_ + 1}, {name}: {took:.1f} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    local, queued = (statistics.median(seconds[name]) for name in ("local", "queued"))
    size = chunk_size(total, processes)
    print(f"{total:,} cases: local (1 process) median {local:.1f} s ({total / local:,.0f} cases/s); queued "
          f"({WORKERS} worker processes) median {queued:.1f} s ({total / queued:,.0f} cases/s)")  # fmt: skip
    print(f"local / queued: {local / queued:.2f}x (medians of {options.rounds} rounds; the ideal is {WORKERS:.2f}x); "
          f"chunks of {size:,} cases ({-(-total // size)} tasks); winners and table identical every round")  # fmt: skip


if __name__ == "__main__":
    main()
