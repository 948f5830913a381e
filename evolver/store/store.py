"""The lineage store: jobs, the candidates they produce and their evaluations, on SQLite or PostgreSQL.

Every write is one transaction. Candidates and evaluations are written at most once: a repeated write (a
re-delivered task) finds the row already there and returns its id. Reads return frozen dataclasses.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, Table, delete, func, insert, inspect, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from evolver.errors import StoreError
from evolver.providers.base import OPS
from evolver.store.database import masked, open_engine, sqlite_file, transaction
from evolver.store.models import Candidate, Evaluation, Job, Market, Match, Model, Reply, RetiredModel, utcnow
from evolver.store.rows import (
    CandidateRow,
    EvaluationRow,
    JobRow,
    MarketRow,
    MatchRow,
    PlanRow,
    ReplyRow,
    Standing,
)
from simcore.slot import DIRECTIONS

JOB_STATUSES = ("pending", "running", "done", "failed", "stopped", "interrupted")
JOB_KINDS = ("evolve", "tournament")
CANDIDATE_OPS = (*OPS, "mutate", "crossover", "tune")
OK = "ok"  # the evaluation status of a candidate that ran and scored
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"  # evolver/migrations/, package data
_UPGRADE_LOCK = 0x65766F6C  # a PostgreSQL advisory lock key ("evol"): concurrent upgrades run one at a time
_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class Store:
    """The lineage store at a database URL (`EVOLVER_DATABASE_URL`): SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        """Checks the URL and prepares a connection pool; nothing is opened until the first call."""
        self._url = url
        self._engine = open_engine(url)

    def __repr__(self) -> str:
        return f"Store({masked(self._url)!r})"

    @property
    def url(self) -> str:
        """The database URL, its password masked (for messages)."""
        return masked(self._url)

    @property
    def file(self) -> Path | None:
        """The SQLite file of the store; None for PostgreSQL or an in-memory database."""
        return sqlite_file(self._url)

    def revision(self) -> str | None:
        """The schema's Alembic revision; None when the database has no tables yet."""
        with self._transaction() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def close(self) -> None:
        """Closes the pooled connections (the store opens new ones if used again)."""
        self._engine.dispose()

    def upgrade(self) -> None:
        """Brings the schema to the newest migration (`alembic upgrade head`); a no-op when it is there already."""
        if not (MIGRATIONS / "env.py").is_file():
            raise StoreError(
                f"the installed evolver package has no migrations at {MIGRATIONS}: reinstall it (`pip install .`)"
            )
        from alembic import command  # imported when used: `evolver --help` and the sandbox's imports stay light
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._transaction() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # Writes

    def create_job(
        self,
        *,
        scenario: str,
        goal: str,
        comp: str,
        direction: str,
        models: Sequence[str],
        budget: Mapping[str, Any],
        seed: int,
        kind: str = "evolve",
        scenario_source: str | None = None,
        scenario_hash: str | None = None,
        replay: int | None = None,
        reference: Mapping[str, Any] | None = None,
        scenario_components: Mapping[str, str] | None = None,
    ) -> int:
        """Stores a new `pending` job (or tournament) and its models; returns the job's id.

        `scenario` is the name shown; `scenario_source` and `scenario_hash` pin what it ran (evolver/pinning.py),
        `scenario_components` the components it composed (`kind@version#hash` by key); `reference` is what its
        scores' shares are of (`evolver.games.job_reference`).
        """
        _check(direction, DIRECTIONS, "direction")
        _check(kind, JOB_KINDS, "job kind")
        now = utcnow()
        with self._transaction() as connection:
            for model_id in models:
                _add_model(connection, model_id)
            values = {
                "kind": kind,
                "scenario": scenario,
                "goal": goal,
                "comp": comp,
                "direction": direction,
                "models": list(models),
                "budget": dict(budget),
                "seed": seed,
                "status": "pending",
                "created_at": now,
                "updated_at": now,
                "scenario_source": scenario_source,
                "scenario_hash": scenario_hash,
                "replay": replay,
                "reference": None if reference is None else dict(reference),
                "scenario_components": None if scenario_components is None else dict(scenario_components),
            }
            return connection.execute(insert(Job).values(values).returning(Job.id)).scalar_one()

    def set_job_status(
        self, job_id: int, status: str, *, expected: str | tuple[str, ...] | None = None, error: str | None = None
    ) -> bool:
        """Sets the job's status and error, only if its status is `expected` (or one of them, when given); True if
        it changed.

        The guard makes a transition safe between processes: of two workers moving a job from `pending` to
        `running`, exactly one gets True.
        """
        _check(status, JOB_STATUSES, "job status")
        statement = update(Job).where(Job.id == job_id).values(status=status, error=error, updated_at=utcnow())
        if expected is not None:
            statement = statement.where(Job.status.in_((expected,) if isinstance(expected, str) else expected))
        with self._transaction() as connection:
            return connection.execute(statement).rowcount == 1

    def set_job_phase(self, job_id: int, phase: int) -> None:
        """Records the first unfinished phase of the job (what `status` and the API show without planning)."""
        with self._transaction() as connection:
            connection.execute(
                update(Job).where(Job.id == job_id, Job.phase.is_distinct_from(phase)).values(phase=phase)
            )

    def retire(self, job_id: int, model_id: str, phase: int, reason: str) -> None:
        """Records that the job goes on without the model from `phase` on (the first reason written is kept)."""
        values = {"job_id": job_id, "model_id": model_id, "phase": phase, "reason": reason, "created_at": utcnow()}
        with self._transaction() as connection:
            _insert_or_ignore(connection, RetiredModel, values, ["job_id", "model_id"])

    def add_candidate(
        self,
        *,
        key: str,
        job_id: int,
        model_id: str,
        op: str,
        generation: int,
        code: str,
        status: str,
        score: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        error_line: int | None = None,
        improved: bool | None = None,
        parent_id: int | None = None,
        target_id: int | None = None,
        prompt: Sequence[Mapping[str, str]] | None = None,
        reply: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float = 0.0,
        latency_ms: float = 0.0,
        replayed_from: int | None = None,
        heldout_score: float | None = None,
        heldout_status: str | None = None,
        versus_score: float | None = None,
        versus_target_score: float | None = None,
        choice: Mapping[str, Any] | None = None,
        skeleton: str | None = None,
        evaluations: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """Stores a candidate once per `key` and returns its id; a repeated key returns the first one's id unchanged.

        `code` is the extracted player fn ("" when the reply had none: status "no_code", the reason in `error`).
        `choice` is what the try was given and how its reply edited the code (`CandidateRow.choice`); `skeleton` the
        code's with its tunable constants blanked (evolver/tuning.py), what its trials are found by.
        `evaluations` (each the keywords of `add_evaluation` but the candidate: its training evaluation, and its
        held-out one) are written in the same transaction.
        """
        _check(op, CANDIDATE_OPS, "op")
        values = {
            "key": key,
            "job_id": job_id,
            "model_id": model_id,
            "op": op,
            "generation": generation,
            "parent_id": parent_id,
            "target_id": target_id,
            "code": code,
            "code_hash": hashlib.sha256(code.encode()).hexdigest(),
            "status": status,
            "score": _score(score),
            "metrics": dict(metrics or {}),
            "error": error,
            "error_line": error_line,
            "improved": improved,
            "prompt": None if prompt is None else [dict(message) for message in prompt],
            "reply": reply,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "cost": cost,
            "latency_ms": latency_ms,
            "created_at": utcnow(),
            "replayed_from": replayed_from,
            "heldout_score": _score(heldout_score),
            "heldout_status": heldout_status,
            "versus_score": _score(versus_score),
            "versus_target_score": _score(versus_target_score),
            "choice": None if choice is None else dict(choice),
            "skeleton": skeleton,
        }
        with self._transaction() as connection:
            _add_model(connection, model_id)
            _insert_or_ignore(connection, Candidate, values, ["key"])
            candidate_id = connection.execute(select(Candidate.id).where(Candidate.key == key)).scalar_one()
            for evaluation in evaluations:
                _add_evaluation(connection, candidate_id, **evaluation)
            return candidate_id

    def add_evaluation(self, *, candidate_id: int, **fields: Any) -> int:
        """Stores a candidate's evaluation on `seeds` once (the same seeds in the same order) and returns its id;
        `fields` are `seeds`, `years`, `status`, `score`, `metrics`, `per_seed` and `timings`, and optionally
        `heldout`, `error`, `error_line` and `feedback`."""
        with self._transaction() as connection:
            return _add_evaluation(connection, candidate_id, **fields)

    def discard_job(self, job_id: int) -> bool:
        """Deletes a `pending` job that has nothing written under it (a submission that never reached the queue)."""
        with self._transaction() as connection:
            if connection.execute(select(Candidate.id).where(Candidate.job_id == job_id).limit(1)).first():
                return False
            return connection.execute(delete(Job).where(Job.id == job_id, Job.status == "pending")).rowcount == 1

    def add_match(
        self,
        *,
        job_id: int,
        round: int,
        challenger: str,
        defender: str,
        challenger_candidate_id: int | None,
        defender_candidate_id: int,
        seeds: Sequence[int],
        challenger_score: float | None,
        defender_score: float,
        won: bool,
    ) -> int:
        """Stores a match once per (job, round, challenger, defender) and returns its id."""
        values = {
            "job_id": job_id, "round": round, "challenger": challenger, "defender": defender,
            "challenger_candidate_id": challenger_candidate_id, "defender_candidate_id": defender_candidate_id,
            "seeds": [_seed(seed) for seed in seeds], "challenger_score": _score(challenger_score),
            "defender_score": _score(defender_score), "won": won, "created_at": utcnow(),
        }  # fmt: skip
        unique = ["job_id", "round", "challenger", "defender"]
        with self._transaction() as connection:
            _insert_or_ignore(connection, Match, values, unique)
            found = select(Match.id).where(*(getattr(Match, column) == values[column] for column in unique))
            return connection.execute(found).scalar_one()

    def cache_reply(
        self,
        *,
        job_id: int,
        key: str,
        model_id: str,
        prompt_hash: str,
        seed: int,
        text: str,
        op: str | None,
        tokens_in: int,
        tokens_out: int,
        latency_ms: float,
        requests: int,
        replayed_from: int | None = None,
    ) -> None:
        """Keeps a model's reply to the job's step `key` (asked with `prompt_hash`); the first one written wins."""
        values = {
            "job_id": job_id, "key": key, "model_id": model_id, "prompt_hash": prompt_hash, "seed": seed, "text": text,
            "op": op, "tokens_in": tokens_in, "tokens_out": tokens_out, "latency_ms": latency_ms, "requests": requests,
            "replayed_from": replayed_from, "created_at": utcnow(),
        }  # fmt: skip
        with self._transaction() as connection:
            _insert_or_ignore(connection, Reply, values, ["key", "prompt_hash"])

    # Reads

    def cached_reply(self, key: str, prompt_hash: str) -> ReplyRow | None:
        """The reply cached for the step `key` asked with `prompt_hash`, or None."""
        statement = select(Reply).where(Reply.key == key, Reply.prompt_hash == prompt_hash)
        with self._transaction() as connection:
            row = connection.execute(statement).first()
        return ReplyRow(**row._mapping) if row else None

    def replayable_reply(self, job_id: int, model_id: str, prompt_hash: str, seed: int) -> ReplyRow | None:
        """A reply the job `job_id` was given (paid or replayed itself) to the same prompt and seed, or None."""
        statement = (
            select(Reply)
            .where(Reply.job_id == job_id, Reply.model_id == model_id, Reply.prompt_hash == prompt_hash)
            .where(Reply.seed == seed)
            .order_by(Reply.id)
            .limit(1)
        )
        with self._transaction() as connection:
            row = connection.execute(statement).first()
        return ReplyRow(**row._mapping) if row else None

    def retired(self, job_id: int) -> dict[str, tuple[int, str]]:
        """The job's retired models: model id -> (the phase it was retired in, why)."""
        statement = select(RetiredModel.model_id, RetiredModel.phase, RetiredModel.reason).where(
            RetiredModel.job_id == job_id
        )
        with self._transaction() as connection:
            return {
                model: (phase, reason)
                for model, phase, reason in connection.execute(statement.order_by(RetiredModel.id))
            }

    def add_market(
        self,
        *,
        key: str,
        job_id: int,
        round: int,
        models: Sequence[str],
        candidate_ids: Sequence[int],
        seeds: Sequence[int],
        statuses: Sequence[str],
        scores: Sequence[float | None],
        per_seed: Sequence[Sequence[float | None]],
    ) -> int:
        """Stores an arena tournament's round market once per `key` and returns its id."""
        values = {
            "key": key, "job_id": job_id, "round": round, "models": list(models), "candidate_ids": list(candidate_ids),
            "seeds": [_seed(seed) for seed in seeds], "statuses": list(statuses), "scores": [_score(x) for x in scores],
            "per_seed": [[_score(x) for x in row] for row in per_seed], "created_at": utcnow(),
        }  # fmt: skip
        with self._transaction() as connection:
            _insert_or_ignore(connection, Market, values, ["key"])
            return connection.execute(select(Market.id).where(Market.key == key)).scalar_one()

    def markets(self, job_id: int) -> list[MarketRow]:
        """The arena tournament's round markets, by round and then by key."""
        statement = select(Market).where(Market.job_id == job_id).order_by(Market.round, Market.key)
        with self._transaction() as connection:
            return [MarketRow(**row._mapping) for row in connection.execute(statement)]

    def market_keys(self, job_id: int) -> set[str]:
        """The keys of the job's stored markets (what planning needs of them)."""
        with self._transaction() as connection:
            return set(connection.execute(select(Market.key).where(Market.job_id == job_id)).scalars())

    def matches(self, job_id: int) -> list[MatchRow]:
        """The tournament's matches, by round and then in the order they were written."""
        statement = select(Match).where(Match.job_id == job_id).order_by(Match.round, Match.id)
        with self._transaction() as connection:
            return [MatchRow(**row._mapping) for row in connection.execute(statement)]

    def spent(self, job_id: int) -> float:
        """What the job's model calls have cost so far, in USD."""
        statement = select(func.coalesce(func.sum(Candidate.cost), 0.0)).where(Candidate.job_id == job_id)
        with self._transaction() as connection:
            return float(connection.execute(statement).scalar_one())

    def stalled(self, before: datetime) -> list[int]:
        """Ids of pending or running jobs with no change and no new candidate since `before`: for a sweep."""
        latest = (
            select(Candidate.job_id, func.max(Candidate.created_at).label("latest"))
            .group_by(Candidate.job_id)
            .subquery()
        )
        statement = (
            select(Job.id)
            .outerjoin(latest, latest.c.job_id == Job.id)
            .where(Job.status.in_(("pending", "running")), Job.updated_at < before)
            .where((latest.c.latest.is_(None)) | (latest.c.latest < before))
            .order_by(Job.id)
        )
        with self._transaction() as connection:
            return list(connection.execute(statement).scalars())

    def job(self, job_id: int) -> JobRow | None:
        """The job, or None if there is no such job."""
        jobs = self._jobs(select(Job).where(Job.id == job_id))
        return jobs[0] if jobs else None

    def jobs(self, kind: str | None = None, offset: int = 0, limit: int | None = None) -> list[JobRow]:
        """The jobs (of one kind, if given), oldest first, from `offset`, at most `limit` of them."""
        statement = select(Job).order_by(Job.id).offset(offset).limit(limit)
        return self._jobs(statement if kind is None else statement.where(Job.kind == kind))

    def count_jobs(self, kind: str | None = None) -> int:
        """How many jobs (of one kind, if given) there are."""
        statement = select(func.count(Job.id))
        with self._transaction() as connection:
            return connection.execute(statement if kind is None else statement.where(Job.kind == kind)).scalar_one()

    def candidate(self, candidate_id: int) -> CandidateRow | None:
        """The candidate, or None if there is no such candidate."""
        found = self._candidates(select(Candidate).where(Candidate.id == candidate_id))
        return found[0] if found else None

    def candidate_id(self, key: str) -> int | None:
        """The id of the candidate written under `key`, or None."""
        with self._transaction() as connection:
            return connection.execute(select(Candidate.id).where(Candidate.key == key)).scalar()

    def evaluations(self, candidate_id: int) -> list[EvaluationRow]:
        """The candidate's evaluations, oldest first (the seeds and years that reproduce its score)."""
        statement = select(Evaluation).where(Evaluation.candidate_id == candidate_id).order_by(Evaluation.id)
        with self._transaction() as connection:
            return [EvaluationRow(**row._mapping) for row in connection.execute(statement)]

    def lineage(self, job_id: int, offset: int = 0, limit: int | None = None) -> list[CandidateRow]:
        """The job's candidates in the order they were written, so every parent comes before its children; from
        `offset`, at most `limit` of them."""
        statement = select(Candidate).where(Candidate.job_id == job_id).order_by(Candidate.id)
        return self._candidates(statement.offset(offset).limit(limit))

    def count_candidates(self, job_id: int) -> tuple[int, int]:
        """How many candidates the job has, and how many of them evaluated ok."""
        ok = func.count(Candidate.id).filter(Candidate.status == "ok")
        statement = select(func.count(Candidate.id), ok).where(Candidate.job_id == job_id)
        with self._transaction() as connection:
            total, good = connection.execute(statement).one()
        return total, good

    def plan_rows(self, job_id: int, since_phase: int = 0) -> list[PlanRow]:
        """What planning needs of the job's candidates of `since_phase` and later, in the order they were written."""
        has_code = Candidate.code != ""
        statement = (
            select(
                Candidate.id, Candidate.key, Candidate.model_id, Candidate.generation, Candidate.status,
                Candidate.score, Candidate.metrics, Candidate.improved, has_code.label("has_code"), Candidate.cost,
                Candidate.versus_score, Candidate.versus_target_score,
            )
            .where(Candidate.job_id == job_id, Candidate.generation >= since_phase)
            .order_by(Candidate.id)
        )  # fmt: skip
        with self._transaction() as connection:
            return [
                PlanRow(**{**row._mapping, "has_code": bool(row.has_code)}) for row in connection.execute(statement)
            ]

    def trials(self, job_id: int, model_id: str, skeleton: str, before_phase: int) -> list[tuple[int, str, float]]:
        """(id, code, training score) of the model's candidates of `skeleton` that scored in the job's phases before
        `before_phase`, in phase and key order (the same in every process, whichever wrote first)."""
        statement = (
            select(Candidate.id, Candidate.code, Candidate.score)
            .where(Candidate.job_id == job_id, Candidate.model_id == model_id, Candidate.skeleton == skeleton,
                   Candidate.generation < before_phase, Candidate.status == OK, Candidate.score.is_not(None))
            .order_by(Candidate.generation, Candidate.key)
        )  # fmt: skip
        with self._transaction() as connection:
            return [(row.id, row.code, row.score) for row in connection.execute(statement)]

    def standings(self, job_id: int, direction: str, models: Sequence[str]) -> list[Standing]:
        """Each of `models` in the job: its best score and candidate, its calls and its cost, read from the index
        `ix_candidates_standing` alone (no code or text): one seek per model for its best, one pass for the sums."""
        calls = func.count(Candidate.id).filter(Candidate.replayed_from.is_(None))
        totals = (
            select(Candidate.model_id, calls, func.coalesce(func.sum(Candidate.cost), 0.0))
            .where(Candidate.job_id == job_id)
            .group_by(Candidate.model_id)
        )
        leader = _leaders(job_id, direction)
        with self._transaction() as connection:
            best = {
                model: connection.execute(leader.where(Candidate.model_id == model).limit(1)).first()
                for model in models
            }
            spent = {model: (int(n), float(usd)) for model, n, usd in connection.execute(totals)}
            named = select(RetiredModel.model_id, RetiredModel.reason).where(RetiredModel.job_id == job_id)
            retired = {model: reason for model, reason in connection.execute(named)}
        return [
            Standing(
                model=model, best=best[model][1] if best[model] else None,
                best_candidate=best[model][0] if best[model] else None, calls=spent.get(model, (0, 0.0))[0],
                cost=spent.get(model, (0, 0.0))[1], retired=retired.get(model),
                best_heldout=best[model][2] if best[model] else None,
            )
            for model in models
        ]  # fmt: skip

    def top(self, job_id: int, direction: str) -> tuple[int, float, float | None] | None:
        """The id, score and held-out score of the job's best candidate (the earliest of a tie), or None."""
        with self._transaction() as connection:
            found = connection.execute(_leaders(job_id, direction).limit(1)).first()
        return (found[0], found[1], found[2]) if found else None

    def ancestry(self, candidate_id: int) -> list[CandidateRow]:
        """The chain of parents from the root down to the candidate itself (empty if there is no such candidate).

        It follows `parent_id` only; a beat's target is another line's candidate, named by `target_id`.
        """
        start = select(Candidate.id, Candidate.parent_id, literal(0).label("depth")).where(Candidate.id == candidate_id)
        chain = start.cte("chain", recursive=True)
        parents = select(Candidate.id, Candidate.parent_id, chain.c.depth + 1).join(
            chain, Candidate.id == chain.c.parent_id
        )
        chain = chain.union_all(parents)
        return self._candidates(
            select(Candidate).join(chain, Candidate.id == chain.c.id).order_by(chain.c.depth.desc())
        )

    def best(self, job_id: int, direction: str, model_id: str | None = None) -> CandidateRow | None:
        """The job's best scored candidate (of one model, if given); of equal scores the earliest wins."""
        statement = select(Candidate).where(*_scored_filter(job_id)).order_by(*_ranking(direction))
        if model_id is not None:
            statement = statement.where(Candidate.model_id == model_id)
        found = self._candidates(statement.limit(1))
        return found[0] if found else None

    # Helpers

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with transaction(self._engine, self._url) as connection:
            yield connection

    def _jobs(self, statement: Select[Any]) -> list[JobRow]:
        with self._transaction() as connection:
            return [JobRow(**{**row._mapping, "models": tuple(row.models)}) for row in connection.execute(statement)]

    def _candidates(self, statement: Select[Any]) -> list[CandidateRow]:
        with self._transaction() as connection:
            return [CandidateRow(**row._mapping) for row in connection.execute(statement)]


def _add_evaluation(
    connection: Connection,
    candidate_id: int,
    *,
    seeds: Sequence[int],
    years: float | None,
    status: str,
    score: float | None,
    metrics: Mapping[str, Any],
    per_seed: Sequence[Any],
    timings: Mapping[str, Any],
    heldout: bool = False,
    error: str | None = None,
    error_line: int | None = None,
    feedback: Mapping[str, Any] | None = None,
) -> int:
    seeds = [_seed(seed) for seed in seeds]
    seeds_key = json.dumps(seeds, separators=(",", ":"))
    values = {
        "candidate_id": candidate_id, "seeds": seeds, "seeds_key": seeds_key, "years": years, "status": status,
        "score": _score(score), "metrics": dict(metrics), "per_seed": list(per_seed), "timings": dict(timings),
        "created_at": utcnow(), "heldout": heldout, "error": error, "error_line": error_line,
        "feedback": None if feedback is None else dict(feedback),
    }  # fmt: skip
    _insert_or_ignore(connection, Evaluation, values, ["candidate_id", "seeds_key"])
    found = select(Evaluation.id).where(Evaluation.candidate_id == candidate_id, Evaluation.seeds_key == seeds_key)
    return connection.execute(found).scalar_one()


def _add_model(connection: Connection, model_id: str) -> None:
    provider, _, name = model_id.partition(":")
    if not (provider and name):
        raise StoreError(f"model id {model_id!r} is not `provider:model` (e.g. openai:gpt-4o, local:gp)")
    _insert_or_ignore(connection, Model, {"id": model_id, "provider": provider, "name": name}, ["id"])


def _insert_or_ignore(connection: Connection, model: type[Any], values: Mapping[str, Any], unique: list[str]) -> None:
    """INSERT ... ON CONFLICT (unique) DO NOTHING: a concurrent or repeated write of the same row is a no-op."""
    connection.execute(_upsert(connection.dialect.name, model.__table__, tuple(unique)), dict(values))


@functools.cache
def _upsert(dialect: str, table: Table, unique: tuple[str, ...]) -> Any:
    """One statement per table, its values bound at execution: building it per row (the ORM's way, coercing every
    value) cost more than the database's own work."""
    return _INSERT[dialect](table).on_conflict_do_nothing(index_elements=list(unique))


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise StoreError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def _score(score: float | None) -> float | None:
    if score is not None and not math.isfinite(score):
        raise StoreError(f"a stored score is a finite number or None (a disqualified candidate), got {score!r}")
    return score


def _seed(seed: Any) -> int:
    """The seed as a plain int (numpy integers included); a bool or a float is refused."""
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise StoreError(f"a seed is an int, got {seed!r}")
    return operator.index(seed)


def _scored_filter(job_id: int) -> tuple[Any, ...]:
    return Candidate.job_id == job_id, Candidate.status == OK, Candidate.score.is_not(None)


def _leaders(job_id: int, direction: str) -> Select[Any]:
    """The job's scored candidates' id, score and held-out score, best first: read from `ix_candidates_standing`."""
    columns = Candidate.id, Candidate.score, Candidate.heldout_score
    return select(*columns).where(*_scored_filter(job_id)).order_by(*_ranking(direction))


def _ranking(direction: str) -> tuple[Any, ...]:
    _check(direction, DIRECTIONS, "direction")
    return (Candidate.score.desc() if direction == "max" else Candidate.score.asc()), Candidate.id.asc()
