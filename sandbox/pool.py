"""The caller's side: warm parents (one per worker) and `evaluate`, which never raises for the player's doing.

A `SandboxPool` starts its warm parents with a clean environment — no API key is ever in their memory, nor
in the children they fork — and hands each evaluation to an idle one. Many evaluations run concurrently,
one per worker, over all cores.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import sandbox
from sandbox.evaluation import Evaluation, Limits, Status
from sandbox.verdict import verdict
from simcore import SimulationError, day_count, load_scenario

Request = tuple[str, str | Path]  # (code, scenario)
BASE = "/tmp"
"""Where warm parents work, whatever $TMPDIR says: their folders' names are in their memory, so a name of another
length would lay out every child's memory otherwise, and a player that reads addresses would score otherwise."""


class SandboxError(Exception):
    """The caller's mistake (an unknown scenario, one without a slot, bad seeds), never the player's."""


def _clean_environment() -> dict[str, str]:
    """What a warm parent gets: enough to run Python and import this project, and a fixed hash seed (so sets and
    dicts of strings iterate in the same order in every process); no secret."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(sandbox.__file__).resolve().parent.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }


class _WarmParent:
    """One `python -m sandbox` process and its request/answer pipes; it works under `base`.

    It starts the same way wherever it is started from (`-P` and `/` as its working directory: the caller's
    folder is not on its path) and with no user site, so every warm parent's memory is laid out alike.
    """

    def __init__(self, base: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-s", "-m", "sandbox", base],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_clean_environment(),
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
        self.stdin: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        self.stdout: IO[bytes] = self.process.stdout  # type: ignore[assignment]

    def ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to one request, or None if this warm parent has died."""
        try:
            self.stdin.write(json.dumps(request).encode() + b"\n")
            self.stdin.flush()
            line = self.stdout.readline()
        except (BrokenPipeError, OSError):
            return None
        return json.loads(line) if line else None

    def close(self) -> None:
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SandboxPool:
    """Evaluate candidates in sandboxed children, `workers` at a time (default: one per core)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.fixed_addresses: bool | None = None  # as the last warm parent to answer said (None: none has yet)
        self._idle: queue.Queue[_WarmParent] = queue.Queue()
        self._all: list[_WarmParent] = []
        self._lock = threading.Lock()
        self._slots: dict[str, tuple[str, str]] = {}
        self._closed = False
        self._base = tempfile.mkdtemp(prefix="evolver-sandbox-", dir=BASE)  # the warm parents' working directories
        for _ in range(self.workers):
            self._add()

    def _add(self) -> None:
        parent = _WarmParent(self._base)
        with self._lock:
            self._all.append(parent)
        self._idle.put(parent)

    def _replace(self, dead: _WarmParent) -> None:
        dead.close()
        with self._lock:
            self._all.remove(dead)
        self._add()

    def _scenario(self, scenario: str | Path) -> tuple[str, str]:
        """The reference a warm parent can load (a built-in name or an absolute path) and the slot's comp."""
        ref = str(scenario) if str(scenario).endswith(".py") is False else str(Path(scenario).resolve())
        if ref not in self._slots:
            try:
                loaded = load_scenario(ref)
            except SimulationError as exc:
                raise SandboxError(str(exc)) from exc
            if loaded.slot is None:
                raise SandboxError(f"scenario {loaded.name!r} has no slot for an evolved player")
            self._slots[ref] = (ref, loaded.slot.comp)
        return self._slots[ref]

    def evaluate(
        self,
        code: Any,
        scenario: str | Path,
        seeds: Sequence[int] = (0,),
        years: float | None = None,
        limits: Limits | None = None,
        detail: bool = False,
    ) -> Evaluation:
        """Evaluate one player's code on each seed; raises SandboxError only for the caller's mistakes.

        With `detail`, the Evaluation also carries the first seed's run (`v`, `nvars` and daily `stats`) as
        plain data, for tables and charts; allow for it in `limits.max_report_bytes` on long runs.
        """
        limits = limits or Limits()
        seeds = tuple(seeds)
        if not seeds or not all(type(seed) is int and seed >= 0 for seed in seeds):
            raise SandboxError(f"seeds must be whole numbers >= 0, got {seeds!r}")
        if years is not None:
            try:
                day_count(years)
            except SimulationError as exc:
                raise SandboxError(str(exc)) from exc
        ref, comp = self._scenario(scenario)
        started = time.perf_counter()
        rejected = _rejected(code, limits)
        if rejected:
            return Evaluation(Status.REJECTED_INPUT, seeds, error=rejected)
        request = {
            "code": code, "scenario": ref, "seeds": list(seeds), "years": years, "limits": asdict(limits),
            "detail": detail,
        }  # fmt: skip
        if self._closed:
            raise SandboxError("the sandbox pool is closed")
        parent = self._idle.get()
        try:
            seen = parent.ask(request)
        finally:
            if parent.process.poll() is None:
                self._idle.put(parent)
            elif not self._closed:
                self._replace(parent)
        if seen is None and self._closed:  # not the player's doing: nothing to record of it
            raise SandboxError("the sandbox pool was closed during the evaluation")
        if seen is None:
            return Evaluation(Status.CRASHED, seeds, error="the sandbox's warm parent stopped; it has been restarted")
        self.fixed_addresses = seen["fixed_addresses"]
        result = verdict(seen, limits, seeds, comp)
        result.timings["total_ms"] = (time.perf_counter() - started) * 1e3
        return result

    def evaluate_many(
        self, requests: Iterable[Request], seeds: Sequence[int] = (0,), years: float | None = None,
        limits: Limits | None = None,
    ) -> list[Evaluation]:  # fmt: skip
        """Evaluate many (code, scenario) pairs concurrently, one per worker; results in request order."""
        with ThreadPoolExecutor(self.workers) as executor:
            futures = [executor.submit(self.evaluate, code, ref, seeds, years, limits) for code, ref in requests]
            return [future.result() for future in futures]

    def close(self) -> None:
        """Stop every warm parent (their children are already reaped); an evaluation under way raises SandboxError."""
        self._closed = True
        with self._lock:
            parents, self._all = self._all, []
        for parent in parents:
            parent.close()
        shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rejected(code: Any, limits: Limits) -> str | None:
    """Why `code` is refused before compiling, or None."""
    if not isinstance(code, str):
        return f"the code must be text, got {type(code).__name__}"
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > limits.max_source_bytes:
        return f"the code is {size} bytes; the limit is {limits.max_source_bytes}"
    return None


_default: SandboxPool | None = None
_default_lock = threading.Lock()


def evaluate(
    code: Any,
    scenario: str | Path,
    seeds: Sequence[int] = (0,),
    years: float | None = None,
    limits: Limits | None = None,
    detail: bool = False,
) -> Evaluation:
    """Evaluate one candidate in a shared one-worker pool, started on first use and stopped at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SandboxPool(workers=1)
            atexit.register(_default.close)
    return _default.evaluate(code, scenario, seeds, years, limits, detail)
