"""What goes into an evaluation (its limits) and what comes out (an Evaluation with a status from a fixed set)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.contract import MAX_PRINT_BYTES, MAX_REPORT_BYTES, MAX_SOURCE_BYTES
from simcore.checks import is_count, is_number


class Status(StrEnum):
    """How an evaluation ended. Only `ok` has metrics and a score."""

    OK = "ok"
    REJECTED_INPUT = "rejected_input"  # refused before compiling: not text, or over the size cap
    COMPILE_ERROR = "compile_error"  # a syntax error, a policy error, or no `fn` defined
    RUNTIME_ERROR = "runtime_error"  # the player raised (the error carries its line)
    INVALID_ACTION = "invalid_action"  # a malformed action: bad amount, over the cap, too many a day
    INVARIANT_VIOLATION = "invariant_violation"  # a wallet or conservation rule broke
    OUTPUT_INVALID = "output_invalid"  # a bad return value or scratch dict: NaN, a bool, a cycle, too large
    TIMEOUT = "timeout"  # the wall-clock deadline passed
    CPU_LIMIT = "cpu_limit"
    MEMORY_LIMIT = "memory_limit"
    CRASHED = "crashed"  # the child died without a report


@dataclass(frozen=True)
class Limits:
    """Resource limits of one evaluation (all seeds together). `memory_mb` is on top of what the warm parent uses.

    A plain dataclass, not a pydantic model: the warm parent imports this, and the less it imports the less
    each fork costs.
    """

    wall_seconds: float = 20.0
    cpu_seconds: int = 10
    memory_mb: int = 512
    max_source_bytes: int = MAX_SOURCE_BYTES
    max_report_bytes: int = MAX_REPORT_BYTES
    max_print_bytes: int = MAX_PRINT_BYTES
    max_error_chars: int = 2000

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            whole = name != "wall_seconds"
            if not (is_count(value, 1) if whole else is_number(value) and value > 0):
                kind = "a whole number >= 1" if whole else "a number > 0"
                raise ValueError(f"limit {name} must be {kind}, got {value!r}")


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one candidate: status, metrics (mean over seeds, and per seed), score, error, timings."""

    status: Status
    seeds: tuple[int, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    per_seed: list[dict[str, float]] = field(default_factory=list)
    score: float | None = None
    error: str | None = None
    line: int | None = None
    stdout: str = ""
    notes: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] | None = None  # the first seed's run (`v`, `nvars`, `stats`) when asked for
    feedback: dict[str, Any] | None = None  # what the runs showed, when asked for (`simcore.feedback.Feedback`)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON files and the store."""
        return {
            "status": self.status.value,
            "seeds": list(self.seeds),
            "score": self.score,
            "metrics": self.metrics,
            "per_seed": self.per_seed,
            "error": self.error,
            "line": self.line,
            "stdout": self.stdout,
            "notes": self.notes,
            "timings": self.timings,
            **({"detail": self.detail} if self.detail is not None else {}),
            **({"feedback": self.feedback} if self.feedback is not None else {}),
        }


@dataclass(frozen=True)
class MatchEvaluation:
    """An arena's evaluation: an Evaluation per seat (status, metrics, score, error: as `evaluate` gives one), the
    seeds, each seed's turn order (seat numbers, first to play first), and the seats that ended the match by
    themselves (`culprits`: each also did alone; the others were played again without them)."""

    seats: tuple[Evaluation, ...]
    seeds: tuple[int, ...]
    orders: tuple[tuple[int, ...], ...]
    culprits: tuple[int, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for JSON files and the store."""
        return {
            "seats": [seat.to_dict() for seat in self.seats],
            "seeds": list(self.seeds),
            "orders": [list(order) for order in self.orders],
            "culprits": list(self.culprits),
            "timings": self.timings,
        }
