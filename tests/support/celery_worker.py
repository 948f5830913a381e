"""Real Celery worker processes for tests: `python -m celery -A worker.app worker`, prefork, started in a new
session with the test's settings in its environment, and always killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def queue_settings(broker: str, database: Path, monkeypatch: Any) -> dict[str, str]:
    """The settings a worker and the CLI share (set in the test's environment): this broker, a SQLite store at
    `database`, and short task limits."""
    values = {
        "EVOLVER_BROKER_URL": broker,
        "EVOLVER_DATABASE_URL": f"sqlite:///{database}",
        "EVOLVER_TASK_TIME_LIMIT": "20",
        "EVOLVER_VISIBILITY_TIMEOUT": "25",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


class Worker:
    """One worker process group; `log` is its output file, `cwd` its working directory (default: the checkout)."""

    def __init__(
        self, env: Mapping[str, str], log: Path, concurrency: int = 1, beat: bool = False, cwd: Path = ROOT
    ) -> None:
        self.log = log
        command = [
            sys.executable, "-m", "celery", "-A", "worker.app", "worker", "-P", "prefork", "-c", str(concurrency),
            "--prefetch-multiplier=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel=INFO", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ]  # fmt: skip
        if beat:
            command += ["-B", "-s", str(log.with_suffix(".schedule"))]
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    def children(self) -> list[int]:
        """The pids of the pool's child processes (prefork)."""
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL to the whole process group and every process it started (sandbox parents run in sessions of
        their own), then checks that none is left."""
        family = descendants(self.process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._out.close()
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive := [pid for pid in family if _alive(pid)]:
            assert time.monotonic() < deadline, f"worker processes left behind: {alive}"
            time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children first."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    children = [int(child) for child in out.stdout.split()]
    return children + [grandchild for child in children for grandchild in descendants(child)]


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie left for init to reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@contextmanager
def running(env: Mapping[str, str], log: Path, concurrency: int = 1, beat: bool = False) -> Iterator[Worker]:
    """A started worker, killed (with its group) on exit."""
    worker = Worker(env, log, concurrency, beat)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.kill()
