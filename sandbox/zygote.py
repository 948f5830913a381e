"""The warm parent: imports simcore and RestrictedPython once, then forks a fresh child per evaluation.

`SandboxPool` starts one per worker with a clean environment (so no secret is even in its memory). It reads
one JSON request per line on stdin and answers one JSON line on stdout: the child's raw report and what
became of the child process. It enforces the wall-clock deadline, kills the child's whole process group
and reaps it, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

import RestrictedPython  # noqa: F401 - imported once here, so every child starts warm

from sandbox import child
from sandbox.evaluation import Limits
from sandbox.isolation import Seccomp
from sandbox.policy import PrintSink, compile_player, load_player
from simcore import Scenario, SimulationError, load_scenario

READ_CHUNK = 1 << 16


def _read_report(fd: int, deadline: float, cap: int) -> tuple[bytes, str | None]:
    """Read until EOF; stop early with "timeout" at the deadline or "too_big" past `cap` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return b"".join(chunks), "timeout"
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return b"".join(chunks), None
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"", "too_big"


def _kill(pid: int) -> None:
    """SIGKILL the child's process group and the child itself (it may not have made its session yet)."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _empty(workdir: str) -> None:
    """Make sure the working directory is empty again (a child cannot write there; this is a backstop)."""
    if os.listdir(workdir):
        shutil.rmtree(workdir)
        os.mkdir(workdir, 0o700)


def supervise(request: dict[str, Any], scenario: Scenario, workdir: str, seccomp: Seccomp | None) -> dict[str, Any]:
    """Fork one child for `request` in the empty `workdir`, wait for its report under the deadline, then kill
    and reap it."""
    limits = Limits(**request["limits"])
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        os.setsid()
        child.run(request, scenario, write_fd, workdir, seccomp)
    os.close(write_fd)
    try:
        data, stopped = _read_report(read_fd, started + limits.wall_seconds, limits.max_report_bytes)
    finally:
        os.close(read_fd)
        _kill(pid)
        _, status, usage = os.wait4(pid, 0)
        _empty(workdir)
    return {
        "report": data.decode("utf-8", "replace") if data else None,
        "stopped": stopped,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) and stopped is None else None,
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "child_ms": (time.monotonic() - started) * 1e3,
    }


WARM_UP = "def fn(i, v, r, s, p):\n    r['x'] = [v.get('price', 0)]\n    return 0\n"


def warm_up() -> None:
    """Compile and load a player once, then freeze every object made so far out of the garbage collector's
    reach: a collection in a child would otherwise write to every inherited object and copy the whole heap."""
    load_player(compile_player(WARM_UP), PrintSink(0))
    gc.collect()
    gc.freeze()


def serve(lines: Any, out: Any, base: str) -> None:
    """Answer requests until stdin closes; scenarios are loaded once and kept (they are trusted code).

    Children work in an empty directory of this warm parent's, made under `base` (the pool removes `base`).
    """
    seccomp = Seccomp.build()
    scenarios: dict[str, Scenario] = {}
    workdir = tempfile.mkdtemp(dir=base)
    warm_up()
    for line in lines:
        request = json.loads(line)
        try:
            scenario = scenarios.get(request["scenario"]) or load_scenario(request["scenario"])
        except SimulationError as exc:
            answer: dict[str, Any] = {"scenario_error": str(exc)}
        else:
            scenarios[request["scenario"]] = scenario
            answer = supervise(request, scenario, workdir, seccomp)
        answer["seccomp"] = seccomp is not None
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer, sys.argv[1])
