"""The caller's side: warm parents (one per worker) and `evaluate`, which never raises for the player's doing.

A `SandboxPool` starts its warm parents with a clean environment — no API key is ever in their memory, nor
in the children they fork — and hands each evaluation to an idle one. Many evaluations run concurrently,
one per worker, over all cores. `evaluate_match` plays an arena's seats against each other in one child.
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
from dataclasses import asdict, replace
from pathlib import Path
from typing import IO, Any

import sandbox
from sandbox.evaluation import Evaluation, Limits, MatchEvaluation, Status
from sandbox.verdict import match_verdict, verdict
from simcore import SimulationError, Slot, day_count, load_scenario
from simcore.seat import rotation

Request = tuple[str, str | Path]  # (code, scenario)
Played = dict[int, Evaluation] | Evaluation  # a match: each playing seat's evaluation, or the match's failure
PARENT_STOPPED = "the sandbox's warm parent stopped; it has been restarted"
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
        self._slots: dict[str, tuple[str, Slot]] = {}
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

    def _scenario(self, scenario: str | Path) -> tuple[str, Slot]:
        """The reference a warm parent can load (a built-in name or an absolute path) and the scenario's slot."""
        ref = str(scenario) if str(scenario).endswith(".py") is False else str(Path(scenario).resolve())
        if ref not in self._slots:
            try:
                loaded = load_scenario(ref)
            except SimulationError as exc:
                raise SandboxError(str(exc)) from exc
            if loaded.slot is None:
                raise SandboxError(f"scenario {loaded.name!r} has no slot for an evolved player")
            self._slots[ref] = (ref, loaded.slot)
        return self._slots[ref]

    def evaluate(
        self,
        code: Any,
        scenario: str | Path,
        seeds: Sequence[int] = (0,),
        years: float | None = None,
        limits: Limits | None = None,
        detail: bool = False,
        feedback: bool = False,
    ) -> Evaluation:
        """Evaluate one player's code on each seed; raises SandboxError only for the caller's mistakes.

        With `detail`, the Evaluation also carries the first seed's run (`v`, `nvars` and daily `stats`) as
        plain data, for tables and charts; allow for it in `limits.max_report_bytes` on long runs. With `feedback`,
        an ok Evaluation carries what its runs showed (`simcore.feedback`: the refusals by reason, the first seed's
        run in periods; a few kilobytes), for the next prompt.
        """
        limits = limits or Limits()
        seeds = _checked(seeds, years)
        ref, slot = self._scenario(scenario)
        started = time.perf_counter()
        rejected = _rejected(code, limits)
        if rejected:
            return Evaluation(Status.REJECTED_INPUT, seeds, error=rejected)
        request = {
            "code": code, "scenario": ref, "seeds": list(seeds), "years": years, "limits": asdict(limits),
            "detail": detail, "feedback": feedback,
        }  # fmt: skip
        seen = self._ask(request)
        if seen is None:
            return Evaluation(Status.CRASHED, seeds, error=PARENT_STOPPED)
        result = verdict(seen, limits, seeds, slot.comp)
        result.timings["total_ms"] = (time.perf_counter() - started) * 1e3
        return result

    def _ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """What an idle warm parent saw of the child that ran `request`; None if the warm parent died (it is
        replaced). A SandboxError if the pool is, or was meanwhile, closed."""
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
        if seen is not None:
            self.fixed_addresses = seen["fixed_addresses"]
        return seen

    def evaluate_match(
        self, codes: Sequence[Any], scenario: str | Path, seeds: Sequence[int] = (0,), years: float | None = None,
        limits: Limits | None = None,
    ) -> MatchEvaluation:  # fmt: skip
        """Play an arena's seats against each other, `codes[k]` in seat k (the seats past the codes: the game's house
        player, `simcore.seat.house_player`), every seed in one child; the turn order of the seed at index j in
        `seeds` is `rotation(seats, j)`. Raises SandboxError only for the caller's mistakes.

        Each seat's code is compiled and loaded apart (a fresh module per seed), and each seat gets an Evaluation
        as `evaluate` would give it. A seat that fails is benched for the rest of that seed's run, keeping its
        wallet, while the others play on; it plays the later seeds afresh, so every seed's match is the same
        whatever happened in the others, and its first failure is its result. The child has each seat's `limits`
        times the seats playing.

        When the child dies (timeout, CPU, a crash) or a seat runs out of memory, the match cannot say whose doing
        it was, so each seat plays the same seeds alone in its seat, the others idle: a seat that ends the same way
        alone is a *culprit*, gets that evaluation and sits out (idle), and the rest play again without it. If no
        seat does alone, the rest are *void*: `crashed`, with an error that says so.
        """
        limits = limits or Limits()
        seeds = _checked(seeds, years)
        ref, slot = self._scenario(scenario)
        if isinstance(codes, str) or not isinstance(codes, Sequence) or not 1 <= len(codes) <= slot.seats:
            raise SandboxError(
                f"scenario {ref!r} has {slot.seats} seats: give a list of 1 to {slot.seats} codes (the seats past "
                "them play the game's house player)"
            )
        started = time.perf_counter()
        results = {k: Evaluation(Status.REJECTED_INPUT, seeds, error=why) for k, why in _rejections(codes, limits)}
        request = {"scenario": ref, "seeds": list(seeds), "years": years}

        def play(playing: list[int]) -> Played:
            return self._play_match(request, codes, playing, limits, slot.comp)

        alone: dict[int, Evaluation | None] = {}
        culprits: list[int] = []
        while playing := [k for k in range(len(codes)) if k not in results]:
            played = play(playing)
            if not _contested(played):
                results.update(played)  # type: ignore[arg-type]
                break
            unknown = [k for k in playing if k not in alone]
            with ThreadPoolExecutor(min(self.workers, len(unknown))) as executor:
                alone.update(zip(unknown, executor.map(lambda k: _culprit(play([k]), k), unknown), strict=True))
            found = {k: alone[k] for k in playing if alone[k] is not None}
            if not found:
                results.update({k: _void(played, seeds) for k in playing})
                break
            results.update(found)  # type: ignore[arg-type]
            culprits += found
        seats = tuple(results[k] for k in range(len(codes)))
        orders = tuple(rotation(slot.seats, j) for j in range(len(seeds)))
        timings = {"total_ms": (time.perf_counter() - started) * 1e3}
        return MatchEvaluation(seats, seeds, orders, tuple(sorted(culprits)), timings)

    def _play_match(
        self, request: dict[str, Any], codes: Sequence[Any], playing: list[int], limits: Limits, comp: str
    ) -> Played:
        """One child playing the seats in `playing` (the others idle), under `limits` for each seat playing."""
        scaled = _scaled(limits, len(playing))
        codes = [code if k in playing else None for k, code in enumerate(codes)]
        seeds = tuple(request["seeds"])
        seen = self._ask({**request, "codes": codes, "limits": asdict(scaled)})
        if seen is None:
            return Evaluation(Status.CRASHED, seeds, error=PARENT_STOPPED)
        return match_verdict(seen, scaled, seeds, comp, playing)

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


def _checked(seeds: Sequence[int], years: float | None) -> tuple[int, ...]:
    """The seeds as a tuple, once they and the years are checked; a SandboxError otherwise."""
    seeds = tuple(seeds)
    if not seeds or not all(type(seed) is int and seed >= 0 for seed in seeds):
        raise SandboxError(f"seeds must be whole numbers >= 0, got {seeds!r}")
    if years is not None:
        try:
            day_count(years)
        except SimulationError as exc:
            raise SandboxError(str(exc)) from exc
    return seeds


def _scaled(limits: Limits, seats: int) -> Limits:
    """A match's limits: each seat's time, memory and report times the seats playing."""
    return replace(
        limits,
        wall_seconds=limits.wall_seconds * seats,
        cpu_seconds=limits.cpu_seconds * seats,
        memory_mb=limits.memory_mb * seats,
        max_report_bytes=limits.max_report_bytes * seats,
    )


def _contested(played: Played) -> bool:
    """Whether a match's result cannot be laid at one seat's door: the child died or failed as a whole, or a seat
    ran out of memory (the others' memory counts too)."""
    return isinstance(played, Evaluation) or any(e.status is Status.MEMORY_LIMIT for e in played.values())


def _culprit(played: Played, seat: int) -> Evaluation | None:
    """A seat's evaluation when playing alone ended the match as a contested one does; None if it played through."""
    found = played if isinstance(played, Evaluation) else played[seat]
    if not _contested(played):
        return None
    why = f"{found.status}: {found.error}" if found.error else found.status
    return replace(found, error=f"the match ended early, and so did this seat's match alone (the others idle): {why}")


def _void(played: Played, seeds: tuple[int, ...]) -> Evaluation:
    what = f"{played.status} ({played.error})" if isinstance(played, Evaluation) else "a seat out of memory"
    return Evaluation(
        Status.CRASHED,
        seeds,
        error=f"void: the match ended with {what}, and no seat that played did alone; it has no result for this seat",
    )


def _rejections(codes: Sequence[Any], limits: Limits) -> list[tuple[int, str]]:
    return [(k, why) for k, code in enumerate(codes) if (why := _rejected(code, limits)) is not None]


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
