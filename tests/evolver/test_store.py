"""The lineage store on SQLite and on a real PostgreSQL: idempotent writes, lineage queries, errors, migrations."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import numpy
import postgres
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select

from evolver.errors import StoreError
from evolver.store import Store
from evolver.store.models import Base, Model, utcnow

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"jobs", "models", "candidates", "evaluations"}
_databases = itertools.count()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres.running() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a new database on the module's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lineage.db'}"
    return postgres.create_database(request.getfixturevalue("pg_server"), f"test_{next(_databases)}")


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    store = Store(url)
    store.upgrade()
    yield store
    store.close()


def new_job(store: Store, models: tuple[str, ...] = ("local:gp", "local:random"), direction: str = "max") -> int:
    return store.create_job(
        scenario="ai3_plugins",
        goal="grow the bag",
        comp="usdc",
        direction=direction,
        models=list(models),
        budget={"attempts": 3, "generations": 4, "max_cost": 1.5},
        seed=7,
    )


def add(store: Store, job_id: int, key: str, model_id: str = "local:gp", **fields: Any) -> int:
    code = f"def fn(i, v, r, s, p):\n    return {key!r}\n"
    fields = {"op": "init", "generation": 0, "code": code, "status": "ok"} | fields
    return store.add_candidate(key=f"{job_id}/{key}", job_id=job_id, model_id=model_id, **fields)


def evaluate(store: Store, candidate_id: int, seeds: Any, score: float = 1.0) -> int:
    return store.add_evaluation(
        candidate_id=candidate_id,
        seeds=seeds,
        years=0.5,
        status="ok",
        score=score,
        metrics={"usdc": score},
        per_seed=[{"usdc": score}],
        timings={"total_ms": 3.5},
    )


def test_a_candidate_is_written_once_per_key(store: Store) -> None:
    job = new_job(store)
    first = add(store, job, "a", score=1.0)
    again = add(store, job, "a", score=99.0, code="def fn(i, v, r, s, p):\n    return 1\n", tokens_in=50)
    assert again == first
    (row,) = store.lineage(job)
    assert (row.id, row.score, row.tokens_in) == (first, 1.0, 0)  # the first write stands
    assert add(store, job, "b") != first

    evaluation = evaluate(store, first, [0, 1, 2])
    assert evaluate(store, first, (0, 1, 2), score=5.0) == evaluation
    assert evaluate(store, first, numpy.arange(3)) == evaluation
    assert evaluate(store, first, [2, 1, 0]) != evaluation  # other seeds (or order): another evaluation
    assert [(row.seeds, row.seeds_key, row.score) for row in store.evaluations(first)] == [
        ([0, 1, 2], "[0,1,2]", 1.0),
        ([2, 1, 0], "[2,1,0]", 1.0),
    ]


def test_concurrent_writes_of_one_key_make_one_row(store: Store) -> None:
    job = new_job(store)
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: add(store, job, "same", model_id="openai:gpt-4o"), range(16)))
    assert len(ids) == 1
    assert [row.id for row in store.lineage(job)] == list(ids)


def test_lineage_and_ancestry_over_three_generations_with_a_beat(store: Store) -> None:
    job = new_job(store)
    a0 = add(store, job, "a0", score=1.0)
    b0 = add(store, job, "b0", "local:random", score=0.5)
    a1 = add(store, job, "a1", op="improve", generation=1, parent_id=a0, score=2.0, improved=True)
    b1 = add(store, job, "b1", "local:random", op="beat", generation=1, parent_id=b0, target_id=a1, score=2.5)
    a2 = add(store, job, "a2", op="improve", generation=2, parent_id=a1, score=1.5, improved=False)
    b2 = add(store, job, "b2", "local:random", op="repair", generation=2, parent_id=b1, status="runtime_error")
    other = add(store, new_job(store), "x")

    lineage = store.lineage(job)
    assert [row.id for row in lineage] == [a0, b0, a1, b1, a2, b2]
    seen: set[int] = set()
    for row in lineage:
        assert row.parent_id is None or row.parent_id in seen
        seen.add(row.id)
    assert other not in seen

    assert [row.id for row in store.ancestry(b2)] == [b0, b1, b2]
    assert [row.id for row in store.ancestry(a2)] == [a0, a1, a2]
    assert [row.id for row in store.ancestry(a0)] == [a0]
    assert store.ancestry(10_000) == []
    beat = store.candidate(b1)
    assert beat is not None
    assert (beat.op, beat.parent_id, beat.target_id, beat.generation) == ("beat", b0, a1, 1)
    chain = [(row.op, row.improved) for row in store.ancestry(a2)]
    assert chain == [("init", None), ("improve", True), ("improve", False)]


def test_jobs_and_lineage_come_in_pages_with_their_counts(store: Store) -> None:
    jobs = [new_job(store) for _ in range(3)]
    tournament = store.create_job(
        kind="tournament", scenario="ai3_plugins", goal="g", comp="usdc", direction="max",
        models=["local:gp", "local:random"], budget={}, seed=0,
    )  # fmt: skip
    assert [job.id for job in store.jobs()] == [*jobs, tournament]
    assert [job.id for job in store.jobs(offset=1, limit=2)] == jobs[1:]
    assert [job.id for job in store.jobs("evolve", offset=2)] == jobs[2:]
    assert [job.id for job in store.jobs("tournament")] == [tournament]
    assert (store.count_jobs(), store.count_jobs("evolve"), store.count_jobs("tournament")) == (4, 3, 1)

    ids = [add(store, jobs[0], f"c{n}", status="ok" if n % 2 else "runtime_error") for n in range(5)]
    add(store, jobs[1], "elsewhere")
    assert [row.id for row in store.lineage(jobs[0], offset=1, limit=3)] == ids[1:4]
    assert [row.id for row in store.lineage(jobs[0], offset=4, limit=3)] == ids[4:]
    assert store.count_candidates(jobs[0]) == (5, 2)
    assert store.count_candidates(tournament) == (0, 0)


def test_best_ranks_ok_scores_and_the_earliest_of_a_tie_wins(store: Store) -> None:
    job = new_job(store)
    assert store.best(job, "max") is None
    assert [s.best for s in store.standings(job, "max", ("local:gp",))] == [None]
    add(store, job, "g1", score=1.0)
    g3 = add(store, job, "g3", score=3.0, heldout_score=2.5, heldout_status="ok")
    add(store, job, "g3-later", score=3.0)
    add(store, job, "g-failed", score=10.0, status="runtime_error")  # only ok candidates rank
    add(store, job, "g-unscored", status="ok")
    r2 = add(store, job, "r2", "local:random", score=2.0)
    r_low = add(store, job, "r-1", "local:random", score=-1.0)
    r_low_later = add(store, job, "r-1-later", "local:random", score=-1.0)
    g_low = add(store, job, "g-1", score=-1.0)

    best = store.best(job, "max")
    assert best is not None and (best.id, best.score) == (g3, 3.0)
    best = store.best(job, "min")
    assert best is not None and (best.id, best.score) == (r_low, -1.0)
    best = store.best(job, "max", model_id="local:random")
    assert best is not None and best.id == r2
    assert store.best(job, "max", model_id="openai:gpt-4o") is None

    models = ("local:gp", "local:random", "openai:gpt-4o")
    assert [(s.best_candidate, s.best) for s in store.standings(job, "max", models)] == [
        (g3, 3.0),
        (r2, 2.0),
        (None, None),
    ]
    assert [s.best_candidate for s in store.standings(job, "min", models)] == [g_low, r_low, None]
    heldout = [(s.best_heldout, s.gap) for s in store.standings(job, "max", models)]
    assert heldout == [(2.5, -0.5), (None, None), (None, None)]
    assert store.top(job, "max") == (g3, 3.0, 2.5) and store.top(job, "min") == (r_low, -1.0, None)
    assert r_low_later > r_low
    with pytest.raises(StoreError, match="direction must be one of max, min"):
        store.best(job, "up")


def test_job_status_changes_only_from_the_expected_status(store: Store) -> None:
    job = new_job(store)
    created = store.job(job)
    assert created is not None and created.status == "pending"
    assert store.set_job_status(job, "running", expected="pending") is True
    assert store.set_job_status(job, "running", expected="pending") is False  # a second worker loses
    assert store.set_job_status(job, "done", expected="pending") is False
    assert store.set_job_status(job, "failed", expected="running", error="provider down") is True
    failed = store.job(job)
    assert failed is not None and (failed.status, failed.error) == ("failed", "provider down")
    assert failed.updated_at >= created.updated_at
    assert store.set_job_status(job, "stopped") is True  # no guard
    assert store.set_job_status(10_000, "running") is False
    with pytest.raises(StoreError, match="job status must be one of pending, running, done, failed, stopped"):
        store.set_job_status(job, "paused")


def test_standings_add_up_calls_and_cost_per_model(store: Store) -> None:
    job = new_job(store, models=("openai:gpt-4o", "anthropic:claude-sonnet-4-5", "local:gp"))
    add(store, job, "o1", "openai:gpt-4o", tokens_in=1200, tokens_out=300, cost=0.0105)
    add(store, job, "o2", "openai:gpt-4o", tokens_in=1500, tokens_out=450, cost=0.01425, status="no_code", code="")
    add(store, job, "c1", "anthropic:claude-sonnet-4-5", tokens_in=900, tokens_out=200, cost=0.0057)
    add(store, new_job(store), "elsewhere", "openai:gpt-4o", tokens_in=10**6, cost=100.0)
    add(store, job, "o3", "openai:gpt-4o", tokens_in=5, cost=0.0, replayed_from=1)  # replayed: not a call
    models = ("openai:gpt-4o", "anthropic:claude-sonnet-4-5", "local:gp")
    totals = {s.model: (s.calls, s.cost) for s in store.standings(job, "max", models)}
    assert list(totals) == list(models)
    assert totals["openai:gpt-4o"] == (2, pytest.approx(0.02475))
    assert totals["anthropic:claude-sonnet-4-5"] == (1, pytest.approx(0.0057))
    assert totals["local:gp"] == (0, 0.0)
    assert store.standings(10_000, "max", ()) == []


def test_values_round_trip(store: Store) -> None:
    job = store.create_job(
        scenario="ai3_plugins",
        goal="sell high — «ünïcode»",
        comp="max:value",
        direction="min",
        models=["ollama:llama3.2:1b", "local:gp"],
        budget={"attempts": 2, "generations": 10, "max_cost": None, "nested": {"a": [1, 2.5]}},
        seed=2**40,
    )
    row = store.job(job)
    assert row is not None
    assert row.models == ("ollama:llama3.2:1b", "local:gp")
    assert row.budget == {"attempts": 2, "generations": 10, "max_cost": None, "nested": {"a": [1, 2.5]}}
    assert (row.goal, row.seed, row.direction, row.error) == ("sell high — «ünïcode»", 2**40, "min", None)
    assert row.created_at.tzinfo is UTC and row.updated_at == row.created_at
    assert store.jobs() == [row]

    code = "def fn(i, v, r, s, p):\n    return None\n"
    prompt = [{"role": "system", "content": "write fn"}, {"role": "user", "content": "beat 1.5 ✓"}]
    metrics = {"usdc": 12.25, "actions": 3, "nan_metric": math.nan, "flag": True, "notes": ["a", {"b": 1}]}
    candidate_id = add(
        store,
        job,
        "c",
        "ollama:llama3.2:1b",
        op="mutate",
        code=code,
        status="invalid_action",
        metrics=metrics,
        error="amount must be positive",
        error_line=2,
        improved=False,
        prompt=prompt,
        reply="```python\n" + code + "```",
        tokens_in=11,
        tokens_out=22,
        cost=0.125,
        latency_ms=812.5,
    )
    candidate = store.candidate(candidate_id)
    assert candidate is not None
    assert candidate.metrics == {**metrics, "nan_metric": None}  # JSON has no NaN: both backends store null
    assert (candidate.prompt, candidate.reply, candidate.code) == (prompt, "```python\n" + code + "```", code)
    assert candidate.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert (candidate.error, candidate.error_line, candidate.improved, candidate.score) == (
        "amount must be positive",
        2,
        False,
        None,
    )
    assert (candidate.tokens_in, candidate.tokens_out, candidate.cost, candidate.latency_ms) == (11, 22, 0.125, 812.5)
    assert candidate.created_at.tzinfo is UTC and candidate.created_at >= row.created_at
    assert store.candidate(10_000) is None and store.job(10_000) is None

    evaluate(store, candidate_id, [3, 1])
    (evaluation,) = store.evaluations(candidate_id)
    assert (evaluation.years, evaluation.per_seed, evaluation.timings) == (0.5, [{"usdc": 1.0}], {"total_ms": 3.5})
    assert (evaluation.heldout, evaluation.error, evaluation.error_line) == (False, None, None)


def test_a_candidate_and_its_training_and_held_out_evaluations_are_written_together_once(store: Store) -> None:
    job = new_job(store)
    evaluation = {"years": None, "metrics": {}, "per_seed": [], "timings": {}}
    training = evaluation | {"seeds": [0, 1], "status": "ok", "score": 2.0}
    heldout = evaluation | {"seeds": [7], "status": "runtime_error", "score": None, "heldout": True,
                            "error": "ValueError: only on seed 7", "error_line": 3}  # fmt: skip
    fields = {"score": 2.0, "heldout_status": "runtime_error", "evaluations": [training, heldout]}
    first = add(store, job, "a", **fields)
    assert add(store, job, "a", **fields) == first
    candidate = store.candidate(first)
    assert candidate is not None and (candidate.score, candidate.heldout_score, candidate.gap) == (2.0, None, None)
    assert candidate.heldout_status == "runtime_error"
    rows = store.evaluations(first)
    assert [(row.seeds, row.heldout, row.status, row.error, row.error_line) for row in rows] == [
        ([0, 1], False, "ok", None, None),
        ([7], True, "runtime_error", "ValueError: only on seed 7", 3),
    ]
    scored = store.candidate(add(store, job, "b", score=2.0, heldout_score=1.25, heldout_status="ok"))
    assert scored is not None and scored.gap == -0.75
    with pytest.raises(StoreError, match="finite"):
        add(store, job, "c", score=2.0, heldout_score=math.inf)


def test_a_candidates_choice_and_its_training_feedback_round_trip(store: Store) -> None:
    job = new_job(store)
    feedback = {"runs": 2, "seed": 0, "periods": [{"days": [1, 30], "trades": {"dex.buyA": [1, 5.0, 5.1]},
                "refused": 2, "wallet": {"USDC": 44.9}, "seen": {"price": 1.02}}],
                "refusals": [{"reason": "dex.sellA: not enough AI", "count": 2, "runs": 2, "seed": 0, "day": 1}],
                "others": 0}  # fmt: skip
    training = {"seeds": [0, 1], "years": None, "status": "ok", "score": 2.0, "metrics": {}, "per_seed": [],
                "timings": {}, "feedback": feedback}  # fmt: skip
    choice = {"parent": None, "target": None, "inspirations": [3, 4], "why": "novel", "edit": "diff"}
    candidate_id = add(store, job, "a", score=2.0, choice=choice, evaluations=[training])
    assert store.candidate(candidate_id).choice == choice  # type: ignore[union-attr]
    assert [row.feedback for row in store.evaluations(candidate_id)] == [feedback]
    bare = add(store, job, "b")
    assert store.candidate(bare).choice is None and evaluate(store, bare, [0]) is not None  # type: ignore[union-attr]
    assert [row.feedback for row in store.evaluations(bare)] == [None]


def test_refused_writes_leave_nothing_behind(store: Store, url: str) -> None:
    job = new_job(store)
    with pytest.raises(StoreError, match="refused the operation"):
        add(store, job, "orphan", "openai:new-model", parent_id=10_000)  # no such parent
    engine = create_engine(url)
    with engine.connect() as connection:  # the model row written first in that transaction was rolled back
        assert "openai:new-model" not in connection.scalars(select(Model.id)).all()
    engine.dispose()
    assert store.lineage(job) == []
    with pytest.raises(StoreError, match="is not `provider:model`"):
        add(store, job, "no-provider", "gpt-4o")
    with pytest.raises(StoreError, match="op must be one of init, improve, beat, repair, mutate, crossover"):
        add(store, job, "bad-op", op="rewrite")
    with pytest.raises(StoreError, match="finite number"):
        add(store, job, "nan", score=math.inf)
    with pytest.raises(StoreError, match="a seed is an int"):
        evaluate(store, add(store, job, "ok"), [True])
    with pytest.raises(StoreError, match="a seed is an int"):
        evaluate(store, add(store, job, "ok"), [1.0])


def test_an_unreachable_postgresql_is_a_store_error_without_the_password() -> None:
    store = Store(f"postgresql+psycopg://evolver:hunter2@127.0.0.1:{postgres.free_port()}/lineage")
    with pytest.raises(StoreError) as caught:
        store.jobs()
    message = str(caught.value)
    assert "hunter2" not in message
    assert "postgresql+psycopg://evolver:***@127.0.0.1:" in message
    assert "EVOLVER_DATABASE_URL" in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://root:hunter2@db/lineage", "not 'mysql' (mysql://root:***@db/lineage)"),
        ("postgresql://root:hunter2@db:port/lineage", "'postgresql://root:***@db:port/lineage' is not a database URL"),
        ("postgresql+nodriver://root:hunter2@db/lineage", "cannot use postgresql+nodriver://root:***@db/lineage"),
    ],
)
def test_a_bad_url_is_a_store_error_before_any_connection(url: str, shown: str) -> None:
    with pytest.raises(StoreError, match="EVOLVER_DATABASE_URL") as caught:
        Store(url)
    assert shown in str(caught.value) and "hunter2" not in str(caught.value)


def test_an_unmigrated_sqlite_file_says_to_run_the_upgrade(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreError, match=r"not set up \(no such table: jobs\).*alembic upgrade head"):
        store.jobs()
    store.upgrade()
    assert store.jobs() == []


def test_migrations_go_up_down_and_up_and_match_the_models(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        assert set(inspect(connection).get_table_names()) >= TABLES
        command.downgrade(config, "base")
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        command.upgrade(config, "head")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
    store = Store(url)
    store.upgrade()  # already at head: nothing to do
    assert store.jobs() == []
    store.close()


def test_the_alembic_command_migrates_the_database_in_the_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "EVOLVER_DATABASE_URL": url}
    upgrade = [sys.executable, "-m", "alembic", "upgrade", "head"]
    done = subprocess.run(upgrade, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Running upgrade  -> 0001" in done.stderr
    engine = create_engine(url)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES
    engine.dispose()


def test_only_a_pending_job_with_nothing_under_it_is_discarded(store: Store) -> None:
    empty, used = new_job(store), new_job(store)
    add(store, used, "k")
    assert not store.discard_job(used) and store.job(used) is not None
    assert store.discard_job(empty) and store.job(empty) is None


def test_a_match_and_a_reply_are_written_once(store: Store) -> None:
    job_id = new_job(store)
    champion = add(store, job_id, "champion", score=1.0)
    match = {"job_id": job_id, "round": 1, "challenger": "local:random", "defender": "local:gp",
             "challenger_candidate_id": None, "defender_candidate_id": champion, "seeds": [0, 1],
             "challenger_score": None, "defender_score": 1.0, "won": False}  # fmt: skip
    assert store.add_match(**match) == store.add_match(**{**match, "won": True})
    (row,) = store.matches(job_id)
    assert row.won is False and row.seeds == [0, 1]
    reply = {"job_id": job_id, "key": f"{job_id}:0:local:gp:0", "model_id": "local:gp", "prompt_hash": "h",
             "seed": 7, "op": None, "tokens_in": 1, "tokens_out": 2, "latency_ms": 3.0, "requests": 1}  # fmt: skip
    store.cache_reply(**reply, text="first")
    store.cache_reply(**reply, text="second")
    first = store.cached_reply(reply["key"], "h")
    assert first is not None and first.text == "first" and first.job_id == job_id and first.replayed_from is None
    assert store.cached_reply(reply["key"], "other prompt") is None
    assert store.cached_reply(f"{job_id}:0:local:gp:1", "h") is None  # another step of the same job
    # another job's step with the same prompt and seed: a cache of its own, and a replay source for others
    other = new_job(store)
    assert store.cached_reply(f"{other}:0:local:gp:0", "h") is None
    assert store.replayable_reply(job_id, "local:gp", "h", 7) == first
    assert store.replayable_reply(other, "local:gp", "h", 7) is None
    assert store.replayable_reply(job_id, "local:gp", "h", 8) is None


def test_stalled_jobs_are_the_unfinished_ones_quiet_since_a_moment(store: Store) -> None:
    start = utcnow()
    running, pending, done = new_job(store), new_job(store), new_job(store)
    store.set_job_status(running, "running", expected="pending")
    store.set_job_status(done, "done", expected="pending")
    assert store.stalled(start) == []
    assert store.stalled(utcnow() + timedelta(seconds=1)) == [running, pending]
    quiet_since = utcnow()
    add(store, running, "fresh")
    assert store.stalled(quiet_since) == [pending]
