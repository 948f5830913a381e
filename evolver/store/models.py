"""The lineage store's tables as SQLAlchemy 2 typed models; migrations/ creates exactly these (a test compares them).

Rows leave the store as plain dataclasses (evolver/store/rows.py): these classes are the schema and the column
expressions of the queries, never objects handed to callers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints, so a migration can drop or alter them by name on every backend (SQLite included).
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC: the only kind of timestamp the store writes."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend: SQLite keeps no zone, so a naive value read back is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"the store writes timezone-aware timestamps only, got the naive {value!r}")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Job(Base):
    """One evolution run or tournament (`kind`) and its state: pending, running, then done, failed or stopped."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="evolve")
    scenario: Mapped[str] = mapped_column(Text)
    goal: Mapped[str] = mapped_column(Text)
    comp: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(String(8))
    models: Mapped[list[str]] = mapped_column(JSON)
    budget: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scenario_source: Mapped[str | None] = mapped_column(Text)  # the scenario module's text, pinned at submit
    scenario_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of that text
    phase: Mapped[int | None]  # the first unfinished phase, as the last `advance` saw it
    replay: Mapped[int | None] = mapped_column(BigInteger)  # a job whose replies this one may reuse
    # its seeds' idle and optimum scores, to show every score's share (evolver/games.py); None: no optimum
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # the components its scenario composed, `kind@version#hash` by key; None: stored before 0009
    scenario_components: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))


class Model(Base):
    """A model id `provider:model`, split into its two parts."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))


class Candidate(Base):
    """One player fn with its provenance and its evaluation's outcome; `key` makes a repeated write a no-op."""

    __tablename__ = "candidates"
    # Covers what a job's standing reads (evolver/state.py), so a poll never reads the rows' texts.
    __table_args__ = (
        Index(
            "ix_candidates_standing",
            *("job_id", "model_id", "status", "score", "id", "cost", "replayed_from", "heldout_score"),
        ),
        Index("ix_candidates_skeleton", "job_id", "model_id", "skeleton"),  # a skeleton's trials (evolver/tuning.py)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"))
    op: Mapped[str] = mapped_column(String(16))
    generation: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    target_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    code: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    error_line: Mapped[int | None]
    improved: Mapped[bool | None]
    prompt: Mapped[list[dict[str, str]] | None] = mapped_column(JSON(none_as_null=True))
    reply: Mapped[str | None] = mapped_column(Text)
    tokens_in: Mapped[int]
    tokens_out: Mapped[int]
    cost: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replayed_from: Mapped[int | None] = mapped_column(BigInteger)  # the job whose reply it reused (paid nothing)
    heldout_score: Mapped[float | None] = mapped_column(Float)  # on the job's held-out seeds; never selected on
    heldout_status: Mapped[str | None] = mapped_column(String(32))  # None: not evaluated on held-out seeds
    # an arena's beat: its score and the target's, playing against each other in the same runs (training seeds)
    versus_score: Mapped[float | None] = mapped_column(Float)
    versus_target_score: Mapped[float | None] = mapped_column(Float)
    # what the selection chose for the try and how the reply edited the code: parent, target, inspirations, why, edit
    choice: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    skeleton: Mapped[str | None] = mapped_column(String(64))  # the code's, for tuning (None: it does not parse)


class Evaluation(Base):
    """A candidate's result on a list of seeds; `seeds_key` is their canonical text, unique per candidate.
    `heldout`: on the job's held-out seeds (reported, never selected on)."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("candidate_id", "seeds_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"))
    seeds: Mapped[list[int]] = mapped_column(JSON)
    seeds_key: Mapped[str] = mapped_column(Text)
    years: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    per_seed: Mapped[list[Any]] = mapped_column(JSON)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heldout: Mapped[bool] = mapped_column(default=False, server_default=false())
    error: Mapped[str | None] = mapped_column(Text)  # why the run stopped, when it did not run ok
    error_line: Mapped[int | None]  # the player's line, where there is one
    # training only: the refusals by reason and the first seed's run in periods, for prompts (simcore.feedback)
    feedback: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class Match(Base):
    """One tournament challenge: the challenger's tries against the defender's champion on the same seeds."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("job_id", "round", "challenger", "defender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    round: Mapped[int]
    challenger: Mapped[str] = mapped_column(String(255))
    defender: Mapped[str] = mapped_column(String(255))
    challenger_candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    defender_candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"))
    seeds: Mapped[list[int]] = mapped_column(JSON)
    challenger_score: Mapped[float | None] = mapped_column(Float)
    defender_score: Mapped[float] = mapped_column(Float)
    won: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Market(Base):
    """An arena tournament's round market: the models' champions trading in one simulation per training seed."""

    __tablename__ = "markets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)  # the step's: a redelivered step writes nothing
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    round: Mapped[int]
    models: Mapped[list[str]] = mapped_column(JSON)  # in seat order
    candidate_ids: Mapped[list[int]] = mapped_column(JSON)  # each model's champion, in seat order
    seeds: Mapped[list[int]] = mapped_column(JSON)
    statuses: Mapped[list[str]] = mapped_column(JSON)  # each seat's evaluation status
    scores: Mapped[list[float | None]] = mapped_column(JSON)  # each seat's score over the seeds (None: it failed)
    per_seed: Mapped[list[list[float | None]]] = mapped_column(JSON)  # each seat's score on each seed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reply(Base):
    """A model's answer to one step of one job, cached by (step key, prompt hash): a redelivered step neither
    pays twice nor is answered differently. Another job reuses it only when it replays this job."""

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("key", "prompt_hash"),
        Index("ix_replies_job_id_model_id_prompt_hash", "job_id", "model_id", "prompt_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[str] = mapped_column(String(255))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    op: Mapped[str | None] = mapped_column(String(16))
    tokens_in: Mapped[int]
    tokens_out: Mapped[int]
    latency_ms: Mapped[float] = mapped_column(Float)
    requests: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    key: Mapped[str | None] = mapped_column(Text)  # the step's key; None on replies cached before 0003
    replayed_from: Mapped[int | None] = mapped_column(BigInteger)  # the job it was copied from (not paid again)


class RetiredModel(Base):
    """A model a tournament goes on without: it failed for good (no key, unknown model, unreachable host)."""

    __tablename__ = "retired_models"
    __table_args__ = (UniqueConstraint("job_id", "model_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    model_id: Mapped[str] = mapped_column(String(255))
    phase: Mapped[int]  # it takes no tries from this phase on
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
