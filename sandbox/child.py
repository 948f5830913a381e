"""The work of one sandbox child: compile the player, play every seed, check what it left, report as JSON.

Asked for `feedback`, the report also says what the runs showed (`simcore.feedback`): the refusals by reason over
every seed, and the first seed's run in periods.

Runs only in a freshly forked, isolated child. Everything the player can cause ends as a report with a
status; the report is the only thing that leaves the process.

Each seed is played by the player's module loaded afresh (new globals, new defaults, new closures), so nothing
the player defines carries from one seed to the next, and the handles a seed's run gave it are dead in the next.
A match (a request with `codes`: an arena's seats) does the same for every seat, all seats in one run per seed.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from sandbox.evaluation import Limits, Status
from sandbox.isolation import Seccomp, isolate
from sandbox.outputs import OutputError, plain, readable
from sandbox.policy import CompiledPlayer, PolicyError, PrintSink, compile_player, load_player, player_line
from simcore import InvalidAction, InvalidOutput, InvariantViolation, Scenario, SimulationError, load_scenario
from simcore.feedback import Feedback
from simcore.seat import SlotOutcome, house_player, idle, play, play_match, rotation

# Prebuilt, so they can be sent when nothing more can be allocated.
OUT_OF_MEMORY = b'{"status": "memory_limit", "error": "the player ran out of memory"}'
UNREPORTABLE = b'{"status": "output_invalid", "error": "the report could not be encoded as JSON"}'
STATUS_OF: dict[type[BaseException], Status] = {
    MemoryError: Status.MEMORY_LIMIT,
    InvariantViolation: Status.INVARIANT_VIOLATION,
    InvalidAction: Status.INVALID_ACTION,
    InvalidOutput: Status.OUTPUT_INVALID,
    OutputError: Status.OUTPUT_INVALID,
}


def run(
    request: dict[str, Any], scenarios: Mapping[str, Scenario], fd: int, workdir: str, seccomp: Seccomp | None
) -> NoReturn:
    """Load the scenario (a built-in from `scenarios`, else its file), isolate this process, evaluate, write one
    JSON report to `fd`, and exit. Never returns."""
    data = OUT_OF_MEMORY
    try:
        limits = Limits(**request["limits"])
        scenario = scenarios.get(request["scenario"]) or load_scenario(request["scenario"])  # trusted code
        isolate(workdir, fd, limits, seccomp)
        faulthandler.enable(fd)  # a crash of the interpreter (a structure too deep for its stack) says where
        data = _encode(_evaluate(request, scenario, limits))
    except MemoryError:
        data = OUT_OF_MEMORY
    except BaseException as exc:
        data = _encode({"status": Status.CRASHED, "error": f"{type(exc).__name__}: {exc}"[:500]})
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os._exit(0)


def _encode(report: dict[str, Any]) -> bytes:
    try:
        return json.dumps(report, allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError):
        return UNREPORTABLE


class Invalids:
    """Every run's witness of invalid actions: it keeps the first, which ends the evaluation even when it came
    too late for its run to stop (a finaliser acting after its seed, on a handle of a run that is over) or
    was swallowed by the finaliser that caused it."""

    def __init__(self) -> None:
        self.first: InvalidAction | None = None

    def __call__(self, failure: InvalidAction) -> None:
        if self.first is None:
            self.first = failure

    def check(self) -> None:
        if self.first is not None:
            raise self.first


def _failure(exc: BaseException, limits: Limits, sink: PrintSink, status: Status | None = None) -> dict[str, Any]:
    """The report of a player's failure: its status (from the player's own error where simcore wrapped it), line
    and prints."""
    cause = exc.__cause__ if isinstance(exc, SimulationError) and exc.__cause__ is not None else exc
    line = getattr(exc, "line", None) or player_line(cause)
    return {
        "status": status or _status(cause),
        "error": str(exc)[: limits.max_error_chars],
        "line": line,
        "stdout": sink.text,
    }


def _evaluate(request: dict[str, Any], scenario: Scenario, limits: Limits) -> dict[str, Any]:
    if "codes" in request:
        return _evaluate_match(request, scenario, limits)
    started = time.perf_counter()
    sink = PrintSink(limits.max_print_bytes)
    timings = {"compile_ms": 0.0, "run_ms": 0.0}

    def failed(exc: BaseException, status: Status | None = None) -> dict[str, Any]:
        return {**_failure(exc, limits, sink, status), **timings}

    try:
        compiled = compile_player(request["code"], limits.max_source_bytes)
        fn = load_player(compiled, sink)  # the module must define a usable fn: a compile error otherwise
    except PolicyError as exc:
        return failed(exc, Status.COMPILE_ERROR)
    except BaseException as exc:
        return failed(exc)
    compiled_at = time.perf_counter()
    timings["compile_ms"] = (compiled_at - started) * 1e3
    invalids = Invalids()
    per_seed, first = [], {}
    feedback = Feedback() if request.get("feedback") else None
    for index, seed in enumerate(request["seeds"]):
        try:  # SystemExit and the like are the player's doing too: any exception is a result
            if index:
                fn = load_player(compiled, sink)  # a fresh module for every seed
            # always with its daily rows: when the collector runs, which a player can observe, must not depend on
            # whether this request asked for the run's detail or feedback (its score would)
            outcome = play(scenario, fn, request["years"], seed, invalids)
            scratch = plain(outcome.scratch)
            if not first:  # the first seed's notes, and its run when asked for (`detail`)
                first["notes"] = scratch
                if request.get("detail"):
                    result = outcome.result
                    first["detail"] = readable({"v": result.v, "nvars": result.nvars, "stats": result.stats})
            if feedback is not None:
                feedback.add(seed, outcome)
            invalids.check()
        except BaseException as exc:
            timings["run_ms"] = (time.perf_counter() - compiled_at) * 1e3
            return failed(exc)
        per_seed.append(outcome.metrics)
    gc.disable()  # no player code runs from here on
    timings["run_ms"] = (time.perf_counter() - compiled_at) * 1e3
    if invalids.first is not None:
        return failed(invalids.first)
    if feedback is not None:
        first["feedback"] = feedback.to_dict()
    return {"status": Status.OK, "metrics": per_seed, "stdout": sink.text, **first, **timings}


class Entrant:
    """One seat of a match, in the child: its compiled code, prints, witness, metrics so far, and its first failure.

    A seat that fails is benched for the rest of that seed's run (simcore's `play_match`), but it plays every later
    seed afresh, so each seed's match is the same whatever happened in the others; its first failure is its result.
    Code that defines no usable fn leaves its seat idle.
    """

    def __init__(self, code: str, limits: Limits) -> None:
        self.limits = limits
        self.sink = PrintSink(limits.max_print_bytes)
        self.invalids = Invalids()
        self.per_seed: list[dict[str, float]] = []
        self.notes: Any = None
        self.failed: dict[str, Any] | None = None
        self.compiled: CompiledPlayer | None = None
        try:
            self.compiled = compile_player(code, limits.max_source_bytes)
        except PolicyError as exc:
            self._fail(exc, Status.COMPILE_ERROR)

    def _fail(self, exc: BaseException, status: Status | None = None) -> None:
        if self.failed is None:
            self.failed = _failure(exc, self.limits, self.sink, status)

    def player(self) -> Callable[..., Any]:
        """This seed's fn, from a fresh module; `idle` if the code defines no usable one (a failure of the seat)."""
        if self.compiled is not None:
            try:
                return load_player(self.compiled, self.sink)
            except PolicyError as exc:
                self._fail(exc, Status.COMPILE_ERROR)
            except BaseException as exc:
                self._fail(exc)
        return idle

    def take(self, outcome: SlotOutcome | BaseException) -> None:
        """Record a seed's outcome: its metrics, or the failure that benched the seat."""
        if isinstance(outcome, BaseException):
            self._fail(outcome)
            return
        try:
            notes = plain(outcome.scratch)
            self.invalids.check()
        except BaseException as exc:
            self._fail(exc)
            return
        if not self.per_seed:
            self.notes = notes
        self.per_seed.append(outcome.metrics)

    def report(self) -> dict[str, Any]:
        """The seat's report: its metrics per seed, or its first failure (a late invalid action included)."""
        if self.invalids.first is not None:
            self._fail(self.invalids.first)
        if self.failed is not None:
            return self.failed
        return {"status": Status.OK, "metrics": self.per_seed, "stdout": self.sink.text, "notes": self.notes}


def _evaluate_match(request: dict[str, Any], scenario: Scenario, limits: Limits) -> dict[str, Any]:
    """Every seat's code compiled and loaded apart (a fresh module per seed and seat), all seats played in one run
    per seed, the turn order rotated by the seed's index. A seat given no code (None) sits idle and is not reported;
    the seats past the codes given are the game's house players (its reference player, else idle).
    What no seat did alone (a background player failing) is the match's failure, reported as a player's would be."""
    started = time.perf_counter()
    entrants = [None if code is None else Entrant(code, limits) for code in request["codes"]]
    timings = {"compile_ms": (time.perf_counter() - started) * 1e3, "run_ms": 0.0}
    assert scenario.slot is not None
    house = [house_player(scenario)] * (scenario.slot.seats - len(entrants))  # the seats given no code at all
    for index, seed in enumerate(request["seeds"]):
        fns = [*(idle if entrant is None else entrant.player() for entrant in entrants), *house]
        witnesses = [None if entrant is None else entrant.invalids for entrant in entrants]
        try:
            order = rotation(len(fns), index)
            outcomes = play_match(scenario, fns, seed, request["years"], order, witnesses)
        except BaseException as exc:
            timings["run_ms"] = (time.perf_counter() - started) * 1e3 - timings["compile_ms"]
            return {**_failure(exc, limits, PrintSink(0)), **timings}
        for entrant, outcome in zip(entrants, outcomes[: len(entrants)], strict=True):
            if entrant is not None:
                entrant.take(outcome)
    gc.disable()  # no player code runs from here on
    timings["run_ms"] = (time.perf_counter() - started) * 1e3 - timings["compile_ms"]
    seats = [None if entrant is None else {**entrant.report(), **timings} for entrant in entrants]
    return {"status": Status.OK, "seats": seats, **timings}


def _status(exc: BaseException) -> Status:
    return next((status for kind, status in STATUS_OF.items() if isinstance(exc, kind)), Status.RUNTIME_ERROR)
