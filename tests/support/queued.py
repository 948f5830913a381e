"""What the tests of runs on the workers share (`evolver.simulate_runs`: a verification study's, a fuzz's, a Monte
Carlo's): the CLI run here or through the queue, the worker's log read, workers served, and a worker killed mid-run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celery_worker
import pytest
import redis_server
from typer.testing import CliRunner

from evolver.cli import app

ROOT = Path(__file__).resolve().parents[2]
TASK = "evolver.simulate_runs"


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Any:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def in_process(monkeypatch: pytest.MonkeyPatch, database: Path, *args: str | Path) -> Any:
    """`args` run here with no broker, on a store of their own."""
    with monkeypatch.context() as local:
        local.delenv("EVOLVER_BROKER_URL", raising=False)
        local.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{database}")
        return ok(*args)


def chunks(log: Path, event: str = "succeeded") -> list[str]:
    """The ids of the chunks (`evolver.simulate_runs` tasks) the worker logged as `event`: received or succeeded."""
    return re.findall(rf"Task {re.escape(TASK)}\[([0-9a-f-]+)\] {event}", log.read_text(errors="replace"))


@contextmanager
def serving(broker: str, root: Path, workers: int = 1) -> Iterator[tuple[dict[str, str], list[Path]]]:
    """`workers` workers of one process each on `broker`, started together; their settings and their logs."""
    env = {
        "EVOLVER_BROKER_URL": broker,
        "EVOLVER_DATABASE_URL": f"sqlite:///{root / 'lineage.db'}",
        "EVOLVER_TASK_TIME_LIMIT": "20",
        "EVOLVER_VISIBILITY_TIMEOUT": "25",
        "EVOLVER_SANDBOX_WORKERS": "1",
    }
    logs = [root / f"worker{k}.log" for k in range(workers)]
    with ExitStack() as stack:
        started = [celery_worker.Worker(env, log) for log in logs]
        for worker in started:
            stack.callback(worker.kill)
        for worker in started:
            worker.wait_ready()
        yield env, logs


@dataclass(frozen=True)
class Killed:
    """A command run with `--queue` whose only worker was SIGKILLed mid-chunk, then finished by a second worker."""

    returncode: int
    stdout: str
    stderr: str
    first: list[str]  # the chunks the first worker finished
    running: str  # the chunk it was running when it was killed
    second: list[str]  # the chunks the second worker finished


def killed_mid_run(args: list[str], root: Path) -> Killed:
    """`evolver ARGS --queue` in a process of its own, on a broker of its own (no other worker may take its chunks):
    its one worker of one process is SIGKILLed, whole, once it has finished a chunk and taken the next. Late acks keep
    that chunk unacknowledged, so once the visibility timeout has passed the second worker runs it (and those still
    queued). Each chunk must take about a second, so that the kill lands in one."""
    first_log, second_log = root / "first.log", root / "second.log"
    with redis_server.running() as broker:
        env = {
            "EVOLVER_BROKER_URL": broker,
            "EVOLVER_DATABASE_URL": f"sqlite:///{root / 'lineage.db'}",
            "EVOLVER_TASK_TIME_LIMIT": "5",
            "EVOLVER_VISIBILITY_TIMEOUT": "6",
            "EVOLVER_BROKER_TRANSPORT_OPTIONS": '{"unacked_restore_interval": 1, "unacked_restore_throttle": 1}',
        }
        first = celery_worker.Worker(env, first_log)  # starting while the command does: its chunks wait queued
        try:
            run = subprocess.Popen(
                [str(Path(sys.executable).with_name("evolver")), *args, "--queue"], cwd=ROOT,
                env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                first.wait_ready()
                deadline = time.monotonic() + 60
                while len(chunks(first_log, "received")) < 2:  # the first chunk done, the second taken: it is running
                    assert run.poll() is None, run.communicate()
                    assert time.monotonic() < deadline, first_log.read_text()
                    time.sleep(0.01)
                first.kill()
                done_first, (_, running) = chunks(first_log), chunks(first_log, "received")
                with celery_worker.running(env, second_log):
                    out, err = run.communicate(timeout=60)
            finally:
                if run.poll() is None:
                    run.kill()
        finally:
            first.kill()  # again, if the test failed before the kill
    return Killed(run.returncode, out, err, done_first, running, chunks(second_log))


def assert_killed_run_lost_nothing(args: list[str], root: Path, monkeypatch: pytest.MonkeyPatch, shown: str) -> None:
    """`evolver ARGS --queue` whose worker is killed mid-chunk (`killed_mid_run`, three chunks) ends well, showing
    `shown`; the chunk it ran went to the second worker and none ran twice; and it wrote what it writes in-process."""
    queued, here = root / "queued.json", root / "here.json"
    killed = killed_mid_run([*args, "--json", str(queued)], root)
    assert killed.returncode == 0, killed.stderr
    assert shown in killed.stdout and f"wrote {queued}" in killed.stderr
    assert len(killed.first) == 1 and killed.running not in killed.first  # killed mid-run, mid-chunk
    assert killed.running in killed.second and len(killed.first) + len(killed.second) == 3  # redelivered, none twice
    in_process(monkeypatch, root / "here.db", *args, "--json", here)
    assert read_json(queued) == read_json(here)
