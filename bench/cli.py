"""Benchmark how fast the command line starts: the CPU time of `evolver --help`, `evolver scenarios` and
`evolver jobs` (on a store of one job), against `python -c pass` measured in the same run.

Run by hand from the project root: `python -m bench.cli`. The commands take turns, RUNS rounds of them; each
figure is the median of its RUNS runs, in CPU seconds (user + system, of the process and its children) and as a
ratio to the interpreter's own start.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = 9
EVOLVER = str(Path(sys.executable).with_name("evolver"))
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "evolver --help": [EVOLVER, "--help"],
    "evolver --version": [EVOLVER, "--version"],
    "evolver scenarios": [EVOLVER, "scenarios"],
    "evolver jobs": [EVOLVER, "jobs"],
}


def cpu_seconds(command: list[str], env: dict[str, str]) -> float:
    """The CPU time one run of `command` took (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "EVOLVER_DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}", "COLUMNS": "100"}
        subprocess.run([EVOLVER, "evolve", "ai3_plugins", "--generations", "1"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(RUNS):
            for name, command in COMMANDS.items():
                times[name].append(cpu_seconds(command, env))
    base = statistics.median(times["python -c pass"])
    print(f"CPU seconds, median of {RUNS} interleaved runs")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:20} {median:6.3f} s   {median / base:6.1f}x python -c pass")


if __name__ == "__main__":
    main()
