"""From what the warm parent saw of a child (its report, its signal, its CPU time) to an Evaluation."""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Sequence
from statistics import fmean
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from sandbox.contract import PLAYER_FILENAME
from sandbox.evaluation import Evaluation, Limits, Status
from simcore.feedback import MAX_SEEN, PERIODS
from simcore.seat import MAX_REFUSAL_KINDS
from simcore.slot import MAX_SEATS


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("metrics must be finite numbers")
    return value


Metric = Annotated[float, AfterValidator(_finite)]
PLAYER_FRAME = re.compile(rf'File "{re.escape(PLAYER_FILENAME)}", line (\d+)')
STACK_OVERFLOW = (
    "the player's code crashed the interpreter (a segmentation fault): most likely a structure nested so deeply "
    "that hashing, iterating or freeing it overflowed the stack, e.g. a tuple nested a million times put in a set"
)


class _Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=200)
    count: int = Field(ge=1)
    runs: int = Field(ge=1)
    seed: int = Field(ge=0)
    day: int = Field(ge=0)


class _Period(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: tuple[int, int]
    trades: dict[str, tuple[int, Metric, Metric]] = Field(max_length=64)
    refused: int = Field(ge=0)
    wallet: dict[str, Metric] = Field(max_length=64)
    seen: dict[str, Metric] = Field(max_length=MAX_SEEN)


class FeedbackReport(BaseModel):
    """What the runs showed (`simcore.feedback.Feedback`), bounded like the rest of the report."""

    model_config = ConfigDict(extra="forbid")

    runs: int = Field(ge=1)
    seed: int = Field(ge=0)
    periods: list[_Period] = Field(max_length=PERIODS)
    refusals: list[_Refusal] = Field(max_length=MAX_REFUSAL_KINDS)
    others: int = Field(ge=0)


class ChildReport(BaseModel):
    """What a sandbox child sends back, validated before anything of it is used (the child is not trusted)."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    metrics: list[dict[str, Metric]] = Field(default_factory=list, max_length=1000)
    score: Metric | None = None
    error: str | None = Field(default=None, max_length=10_000)
    line: int | None = None
    stdout: str = Field(default="", max_length=100_000)
    notes: Any = None
    detail: dict[str, Any] | None = None
    feedback: FeedbackReport | None = None
    compile_ms: float = 0.0
    run_ms: float = 0.0


class MatchReport(ChildReport):
    """A match's report: each seat's, as a player's (None for a seat that was given no code)."""

    seats: list[ChildReport | None] = Field(default_factory=list, max_length=MAX_SEATS)


Report = TypeVar("Report", bound=ChildReport)


def verdict(seen: dict[str, Any], limits: Limits, seeds: tuple[int, ...], comp: str) -> Evaluation:
    """The Evaluation: a valid report wins over how the process ended, except a timeout or an oversize report."""
    report = _report(seen, limits, seeds, ChildReport)
    return report if isinstance(report, Evaluation) else _from_report(report, seeds, comp, _timings(seen))


def match_verdict(
    seen: dict[str, Any], limits: Limits, seeds: tuple[int, ...], comp: str, playing: Sequence[int]
) -> dict[int, Evaluation] | Evaluation:
    """Each playing seat's Evaluation from a match's report, or the match's own failure (the child died, the report
    is invalid, or something no seat did alone stopped a run) as one Evaluation."""
    report = _report(seen, limits, seeds, MatchReport)
    if isinstance(report, Evaluation):
        return report
    timings = _timings(seen)
    if report.status is not Status.OK:
        return _from_report(report, seeds, comp, timings)
    seats = report.seats
    if any(k >= len(seats) or seats[k] is None for k in playing):
        return Evaluation(Status.OUTPUT_INVALID, seeds, error="the report has no result for some seat", timings=timings)
    return {k: _from_report(seats[k], seeds, comp, timings) for k in playing}  # type: ignore[arg-type]


def _timings(seen: dict[str, Any]) -> dict[str, float]:
    return {"child_ms": seen["child_ms"]}


def _report(seen: dict[str, Any], limits: Limits, seeds: tuple[int, ...], model: type[Report]) -> Report | Evaluation:
    """The child's report, validated as `model`, or the Evaluation of how the child ended when there is none."""

    def failed(status: Status, error: str, line: int | None = None) -> Evaluation:
        return Evaluation(status, seeds, error=error, line=line, timings=_timings(seen))

    if seen["stopped"] == "timeout":
        return failed(Status.TIMEOUT, f"stopped at the wall-clock limit of {limits.wall_seconds:g} s")
    if seen["stopped"] == "too_big":
        return failed(Status.OUTPUT_INVALID, f"the report was larger than {limits.max_report_bytes} bytes")
    if seen["report"]:
        try:
            return model.model_validate_json(seen["report"])
        except ValidationError as exc:
            if seen["signal"] is None:
                return failed(Status.OUTPUT_INVALID, f"the report failed validation: {exc.errors()[0]['msg']}")
    return _from_process(seen, limits, failed)


def _from_report(report: ChildReport, seeds: tuple[int, ...], comp: str, timings: dict[str, float]) -> Evaluation:
    timings = {**timings, "compile_ms": report.compile_ms, "run_ms": report.run_ms}
    if report.status is not Status.OK:
        return Evaluation(
            report.status, seeds, error=report.error, line=report.line, stdout=report.stdout, timings=timings
        )
    if len(report.metrics) != len(seeds) or not report.metrics:
        return Evaluation(
            Status.OUTPUT_INVALID, seeds, error="the report has no metrics for some seed", timings=timings
        )
    names = set.intersection(*(set(m) for m in report.metrics))
    metrics = {name: fmean(m[name] for m in report.metrics) for name in report.metrics[0] if name in names}
    if comp not in metrics:
        return Evaluation(Status.OUTPUT_INVALID, seeds, error=f"the metric {comp!r} is missing", timings=timings)
    return Evaluation(
        Status.OK,
        seeds,
        metrics=metrics,
        per_seed=report.metrics,
        score=metrics[comp],
        stdout=report.stdout,
        notes=report.notes,
        detail=report.detail,
        timings=timings,
        feedback=None if report.feedback is None else report.feedback.model_dump(mode="json"),
    )


def _faulting_line(dump: str | None) -> int | None:
    """The player's innermost line in what the child's fault handler wrote (its innermost frame comes first)."""
    found = PLAYER_FRAME.search(dump or "")
    return int(found.group(1)) if found else None


def _from_process(seen: dict[str, Any], limits: Limits, failed: Any) -> Evaluation:
    number = seen["signal"]
    if number is None:
        return failed(Status.CRASHED, f"the child exited with code {seen['exit']} without a report")
    if number == signal.SIGXCPU or (number == signal.SIGKILL and seen["cpu_seconds"] >= limits.cpu_seconds):
        return failed(Status.CPU_LIMIT, f"stopped at the CPU limit of {limits.cpu_seconds} s")
    if number == signal.SIGXFSZ:
        return failed(Status.CRASHED, "the player tried to write a file")
    if number in (signal.SIGSEGV, signal.SIGBUS):
        return failed(Status.RUNTIME_ERROR, STACK_OVERFLOW, _faulting_line(seen["report"]))
    return failed(Status.CRASHED, f"the child was killed by {signal.Signals(number).name}")
