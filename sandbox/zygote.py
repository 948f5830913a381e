"""The warm parent: imports simcore and RestrictedPython once, then has a fresh child forked per evaluation.

`SandboxPool` starts one per worker (`python -m sandbox BASE`) with a clean environment, so no secret is even
in its memory, a fixed hash seed and fixed addresses (`sandbox.addresses`). It reads one JSON request per line
on stdin and answers one JSON line on stdout: the child's raw report and what became of the child process. It
enforces the wall-clock deadline and kills the child's whole process group, so nothing is left running.

Children are not forked by this process, whose memory changes with every request it reads and every report it
answers, but by a *template*: a process forked once, after the warm-up, that does nothing but fork a child when
told to, report its pid, reap it and report how it ended, each time in the same few steps. So every child starts
from the same memory, the garbage collector's counts included: the same code, scenario, seeds and years run
identically in every child of every warm parent, down to the addresses a player could see. The request reaches
the child through shared memory the template never touches; the child's report comes back through a pipe.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import mmap
import os
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, BinaryIO, NoReturn

import RestrictedPython  # noqa: F401 - imported once here, so every child starts warm

from sandbox import child
from sandbox.evaluation import Limits
from sandbox.isolation import Seccomp
from sandbox.policy import PrintSink, compile_player, load_player
from simcore import Scenario, builtin_names, load_scenario
from simcore.seat import play

READ_CHUNK = 1 << 16
REQUEST_BYTES = 64 << 20  # the shared memory for requests: virtual, so only what a request uses is touched
LENGTH = struct.Struct("<Q")  # a request's size, ahead of it in the shared memory
PID = struct.Struct("<i")
DONE = struct.Struct("<id")  # the child's wait status and the CPU seconds it used
CODECS = (
    "ascii", "latin_1", "utf_7", "utf_8_sig", "utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be",
    "cp437", "cp850", "cp1250", "cp1251", "cp1252", "iso8859_2", "iso8859_15", "mac_roman", "unicode_escape",
    "raw_unicode_escape",
)  # fmt: skip
"""The codecs a player's `str.encode`/`bytes.decode` finds (the UTF family and the common Western ones; all of
Python's would add 5 MB to every warm parent, which makes every fork slower); any other is a LookupError."""
PRELOADED = (
    "unicodedata",  # non-ASCII names and \N{...} escapes need it while a player's code compiles
    "faulthandler",  # a child reports a segmentation fault through it
    *(f"encodings.{name}" for name in CODECS),
)
"""Modules a child may need after it has dropped to an unprivileged user, who may not be able to read the
standard library: imported here, once, and shared by every child."""
WARM_UP = "def fn(i, v, r, s, p):\n    r['x'] = [v.get('price', 0)]\n    return 0\n"
TOO_BIG_REQUEST = {"report": None, "stopped": "too_big", "signal": None, "exit": None, "cpu_seconds": 0, "child_ms": 0}
WARM_UPS = 20  # turns the template makes before the first request, so the first is like every other


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


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the sandbox's template stopped")
        data += chunk
    return data


def warm_up(scenarios: dict[str, Scenario]) -> None:
    """Compile, load and play a player once in every built-in slot, so what they import lazily is imported here,
    then freeze every object made so far out of the garbage collector's reach: a collection in a child would
    otherwise write to every inherited object and copy the whole heap."""
    for name in PRELOADED:
        importlib.import_module(name)
    fn = load_player(compile_player(WARM_UP), PrintSink(0))
    for scenario in scenarios.values():
        if scenario.slot is not None:
            play(scenario, fn, 10 / 365)
    gc.collect()
    gc.freeze()


class Template:
    """The process every child is forked from, and this side's ends of its pipes."""

    def __init__(self, scenarios: dict[str, Scenario], workdir: str, seccomp: Seccomp | None) -> None:
        self.requests = mmap.mmap(-1, REQUEST_BYTES)  # shared with the template and its children
        go_read, self.go = os.pipe()
        self.pids, pid_write = os.pipe()
        self.done, done_write = os.pipe()
        self.reports, report_write = os.pipe()
        os.set_blocking(self.reports, False)
        sys.stdout.flush()
        self.pid = os.fork()
        if self.pid == 0:
            for fd in (self.go, self.pids, self.done, self.reports):
                os.close(fd)
            start = _child_start(self.requests, scenarios, report_write, workdir, seccomp)
            _template(go_read, pid_write, done_write, start)
        for fd in (go_read, pid_write, done_write, report_write):
            os.close(fd)
        self.workdir = workdir
        for _ in range(WARM_UPS):
            self.evaluate(b"", Limits())

    def evaluate(self, request: bytes, limits: Limits) -> dict[str, Any]:
        """Have one child evaluate `request` (JSON) under `limits`: its report and how it ended, as JSON data."""
        if LENGTH.size + len(request) > REQUEST_BYTES:
            return dict(TOO_BIG_REQUEST)
        self.requests[: LENGTH.size] = LENGTH.pack(len(request))
        self.requests[LENGTH.size : LENGTH.size + len(request)] = request
        started = time.monotonic()
        os.write(self.go, b"g")
        (pid,) = PID.unpack(_read_exactly(self.pids, PID.size))
        try:
            data, stopped, status, cpu = self._collect(pid, started + limits.wall_seconds, limits.max_report_bytes)
        finally:
            _kill(pid)
            _empty(self.workdir)
        return {
            "report": data.decode("utf-8", "replace") if data else None,
            "stopped": stopped,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) and stopped is None else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "cpu_seconds": cpu,
            "child_ms": (time.monotonic() - started) * 1e3,
        }

    def _collect(self, pid: int, deadline: float, cap: int) -> tuple[bytes, str | None, int, float]:
        """Read the child's report until the template says the child has ended; kill it at the deadline or past
        `cap` bytes. Returns the report, why it was stopped (None: it ended by itself), its status and CPU time."""
        chunks: list[bytes] = []
        size, stopped = 0, None
        while True:
            wait = None if stopped else max(deadline - time.monotonic(), 0)
            ready = select.select([self.reports, self.done], [], [], wait)[0]
            if self.reports in ready:
                size += self._drain(chunks, keep=size <= cap)
            if self.done in ready:
                status, cpu = DONE.unpack(_read_exactly(self.done, DONE.size))
                size += self._drain(chunks, keep=size <= cap)  # all it wrote is in the pipe now
                break
            if stopped is None and (size > cap or (not ready and time.monotonic() >= deadline)):
                stopped = "too_big" if size > cap else "timeout"
                _kill(pid)
        if size > cap:
            return b"", "too_big", status, cpu
        return b"".join(chunks), stopped, status, cpu

    def _drain(self, chunks: list[bytes], keep: bool) -> int:
        """Read what the report pipe holds now, without waiting (keeping it or not); how many bytes."""
        size = 0
        while True:
            try:
                chunk = os.read(self.reports, READ_CHUNK)
            except BlockingIOError:
                return size
            if not chunk:
                return size
            size += len(chunk)
            if keep:
                chunks.append(chunk)

    def close(self) -> None:
        """Stop the template (closing its pipe stops it) and reap it."""
        os.close(self.go)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _template(go: int, pids: int, done: int, start: Callable[[], NoReturn]) -> NoReturn:
    """The template's whole life: fork a child for each byte read from `go`, until it closes."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # the pool's pipes are the warm parent's, not the template's
        os.dup2(devnull, fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the warm parent decides when the template stops
    while os.read(go, 1):
        _turn(pids, done, start)
    os._exit(0)


def _turn(pids: int, done: int, start: Callable[[], NoReturn]) -> None:
    """Fork one child, tell its pid, reap it and tell how it ended. Every turn makes and frees the same objects
    in the same order and keeps none (they die with this call), so each child is forked from the same memory;
    the warm-up turns bring the allocator and the interpreter's caches to that state before the first request."""
    pid = os.fork()
    if pid == 0:
        start()
    os.write(pids, PID.pack(pid))
    _, status, usage = os.wait4(pid, 0)
    os.write(done, DONE.pack(status, usage.ru_utime + usage.ru_stime))


def _child_start(
    requests: mmap.mmap, scenarios: dict[str, Scenario], fd: int, workdir: str, seccomp: Seccomp | None
) -> Callable[[], NoReturn]:
    """What a freshly forked child does: read its request, load its scenario, and run (`sandbox.child`)."""

    def start() -> NoReturn:
        os.setsid()
        (size,) = LENGTH.unpack(requests[: LENGTH.size])
        if not size:  # a warm-up
            os._exit(0)
        request = json.loads(requests[LENGTH.size : LENGTH.size + size])
        requests.close()  # the memory every request passes through: not the player's to read
        child.run(request, scenarios, fd, workdir, seccomp)

    return start


def serve(lines: BinaryIO, out: BinaryIO, base: str, fixed_addresses: bool = False) -> None:
    """Answer requests until stdin closes. Children work in an empty directory of this warm parent's, made under
    `base` (the pool removes `base`)."""
    seccomp = Seccomp.build()
    workdir = tempfile.mkdtemp(dir=base)
    scenarios = {name: load_scenario(name) for name in builtin_names()}  # trusted code, loaded once
    warm_up(scenarios)
    template = Template(scenarios, workdir, seccomp)
    try:
        for line in lines:
            request = json.loads(line)
            answer = template.evaluate(line.rstrip(b"\n"), Limits(**request["limits"]))
            answer.update(seccomp=seccomp is not None, fixed_addresses=fixed_addresses)
            out.write(json.dumps(answer).encode() + b"\n")
            out.flush()
    finally:
        template.close()
