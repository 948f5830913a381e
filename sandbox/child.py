"""The work of one sandbox child: compile the player, play every seed, check what it left, report as JSON.

Runs only in a freshly forked, isolated child. Everything the player can cause ends as a report with a
status; the report is the only thing that leaves the process.

Each seed is played by the player's module loaded afresh (new globals, new defaults, new closures), so nothing
the player defines carries from one seed to the next, and the handles a seed's run gave it are dead in the next.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from sandbox.evaluation import Limits, Status
from sandbox.isolation import Seccomp, isolate
from sandbox.outputs import OutputError, plain, readable
from sandbox.policy import PolicyError, PrintSink, compile_player, load_player, player_line
from simcore import InvalidAction, InvalidOutput, InvariantViolation, Scenario, SimulationError, load_scenario
from simcore.seat import play

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


def _evaluate(request: dict[str, Any], scenario: Scenario, limits: Limits) -> dict[str, Any]:
    started = time.perf_counter()
    sink = PrintSink(limits.max_print_bytes)
    timings = {"compile_ms": 0.0, "run_ms": 0.0}

    def failed(exc: BaseException, status: Status | None = None) -> dict[str, Any]:
        cause = exc.__cause__ if isinstance(exc, SimulationError) and exc.__cause__ is not None else exc
        line = getattr(exc, "line", None) or player_line(cause)
        status = status or _status(cause)
        return {
            "status": status,
            "error": str(exc)[: limits.max_error_chars],
            "line": line,
            "stdout": sink.text,
            **timings,
        }

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
    for index, seed in enumerate(request["seeds"]):
        try:  # SystemExit and the like are the player's doing too: any exception is a result
            if index:
                fn = load_player(compiled, sink)  # a fresh module for every seed
            outcome = play(scenario, fn, request["years"], seed, invalids)
            scratch = plain(outcome.scratch)
            if not first:  # the first seed's notes, and its run when asked for (`detail`)
                first["notes"] = scratch
                if request.get("detail"):
                    result = outcome.result
                    first["detail"] = readable({"v": result.v, "nvars": result.nvars, "stats": result.stats})
            invalids.check()
        except BaseException as exc:
            timings["run_ms"] = (time.perf_counter() - compiled_at) * 1e3
            return failed(exc)
        per_seed.append(outcome.metrics)
    gc.disable()  # no player code runs from here on
    timings["run_ms"] = (time.perf_counter() - compiled_at) * 1e3
    if invalids.first is not None:
        return failed(invalids.first)
    return {"status": Status.OK, "metrics": per_seed, "stdout": sink.text, **first, **timings}


def _status(exc: BaseException) -> Status:
    return next((status for kind, status in STATUS_OF.items() if isinstance(exc, kind)), Status.RUNTIME_ERROR)
