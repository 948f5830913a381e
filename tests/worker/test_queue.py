"""Jobs and tournaments through a real redis-server and real Celery worker processes.

Every run through the queue is compared with the same spec run in-process: the same tries (keys), the same
code, statuses and scores (held-out ones included), the same matches. That is what "no lost and no duplicate
candidates" means here, also after a pool child or a whole worker is killed with SIGKILL mid-job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import celery_worker
import postgres
import pytest
import redis
import redis_server
import wire
from typer.testing import CliRunner
from wire import WireServer

from evolver.cli import app
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.plan import Step
from evolver.queue import TaskQueue
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool

pytestmark = pytest.mark.integration

JOB = ("evolve", "ai3_plugins", "--model", "local:gp", "--model", "local:random", "--generations", "5",
       "--attempts", "2", "--seed", "0", "--seed", "1", "--heldout-seed", "2")  # fmt: skip
JOB_SPEC = JobSpec(
    scenario="ai3_plugins", models=("local:gp", "local:random"), generations=5, attempts=2, seeds=(0, 1), heldout=(2,)
)
TOURNAMENT = ("tournament", "noisy_market", "--model", "local:gp", "--model", "local:random", "--rounds", "2",
              "--attempts", "2", "--seed", "0", "--seed", "1", "--heldout-seed", "5", "--heldout-seed", "6",
              "--years", "0.5")  # fmt: skip
TOURNAMENT_SPEC = JobSpec(
    kind="tournament", scenario="noisy_market", models=("local:gp", "local:random"), rounds=2, attempts=2,
    seeds=(0, 1), heldout=(5, 6), years=0.5,
)  # fmt: skip
ARENA = ("tournament", "arena", "--model", "local:gp", "--model", "local:random", "--rounds", "2", "--attempts", "1",
         "--seed", "0", "--seed", "1", "--no-heldout", "--years", "0.3")  # fmt: skip
ARENA_SPEC = JobSpec(
    kind="tournament", scenario="arena", models=("local:gp", "local:random"), rounds=2, attempts=1, seeds=(0, 1),
    heldout=(), years=0.3,
)  # fmt: skip


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(workers=1) as pool:
        yield pool


@pytest.fixture
def env(broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The settings a worker and the CLI share: this broker (emptied), a fresh SQLite store, short timeouts."""
    redis.Redis.from_url(broker).flushall()
    return celery_worker.queue_settings(broker, tmp_path / "lineage.db", monkeypatch)


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def reference(spec: JobSpec, pool: SandboxPool, tmp_path: Path) -> list[tuple]:
    """The spec run in-process on a store of its own: what every queued run must reproduce."""
    store = Store(f"sqlite:///{tmp_path / 'reference.db'}")
    store.upgrade()
    job_id = Engine(store, Settings(broker_url=None), pool).execute(spec)
    return outcome(store, job_id)


def outcome(store: Store, job_id: int) -> list[tuple]:
    """What a run produced, independent of row ids and write order."""
    candidates = sorted(
        (c.key.split(":", 1)[1], c.model_id, c.op, c.code_hash, c.status, c.score, c.improved, c.heldout_score,
         c.heldout_status, c.versus_score, c.versus_target_score)
        for c in store.lineage(job_id)
    )  # fmt: skip
    matches = sorted(
        (m.round, m.challenger, m.defender, m.won, m.challenger_score, m.defender_score) for m in store.matches(job_id)
    )
    markets = [(m.key.split(":", 1)[1], m.models, m.statuses, m.scores, m.per_seed) for m in store.markets(job_id)]
    return [*candidates, *matches, *markets]


def submit(*args: str) -> int:
    result = invoke(*args, "--queue")
    assert result.exit_code == 0, result.output
    return int(result.output.split()[1])


def wait_done(store: Store, job_id: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while (job := store.job(job_id)).status not in ("done", "failed", "stopped"):
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} after {timeout} s"
        time.sleep(0.1)
    assert job.status == "done", job.error


def store_of(env: dict[str, str]) -> Store:
    return Store(env["EVOLVER_DATABASE_URL"])


def through_the_queue(env: dict[str, str], pool: SandboxPool, tmp_path: Path, args: tuple[str, ...],
                      spec: JobSpec) -> tuple[Store, int]:  # fmt: skip
    """Runs `args` with --queue on a worker of two processes; checks it gave what `spec` gives in-process."""
    expected = reference(spec, pool, tmp_path)
    with celery_worker.running(env, tmp_path / "worker.log", concurrency=2):
        job_id = submit(*args)
        store = store_of(env)
        wait_done(store, job_id)
    assert outcome(store, job_id) == expected
    return store, job_id


def test_a_job_runs_through_the_queue_as_it_runs_in_process(env, pool, tmp_path):
    store, job_id = through_the_queue(env, pool, tmp_path, JOB, JOB_SPEC)
    assert "tune" in {c.op for c in store.lineage(job_id)}  # proposals made from the trials the store held then
    watched = invoke("watch", str(job_id), "--interval", "0.1")
    assert watched.exit_code == 0 and "done" in watched.output and "local:random" in watched.output


def test_a_tournament_on_postgresql_through_the_queue_matches_in_process(env, pool, tmp_path, monkeypatch):
    with postgres.running() as server:
        env["EVOLVER_DATABASE_URL"] = postgres.create_database(server, "tournament")
        monkeypatch.setenv("EVOLVER_DATABASE_URL", env["EVOLVER_DATABASE_URL"])
        store, job_id = through_the_queue(env, pool, tmp_path, TOURNAMENT, TOURNAMENT_SPEC)
        assert len(store.matches(job_id)) == 2 * 2  # two rounds, each model challenges the other
        status = invoke("status", str(job_id))
        store.close()
    assert status.exit_code == 0 and "rating" in status.output and "matches" in status.output


def test_an_arena_tournament_through_the_queue_plays_the_matches_it_plays_in_process(env, pool, tmp_path):
    store, job_id = through_the_queue(env, pool, tmp_path, ARENA, ARENA_SPEC)
    assert [market.round for market in store.markets(job_id)] == [1, 2]
    assert all(c.versus_score is not None for c in store.lineage(job_id) if c.target_id and c.status == "ok")
    status = invoke("status", str(job_id))
    assert status.exit_code == 0 and "markets" in status.output and "bt" in status.output


def test_a_pool_child_killed_mid_evaluation_loses_and_duplicates_nothing(env, pool, tmp_path):
    expected = reference(JOB_SPEC, pool, tmp_path)
    with celery_worker.running(env, tmp_path / "worker.log", concurrency=1) as worker:
        job_id = submit(*JOB)
        store = store_of(env)
        kill_mid_evaluation(worker)
        wait_done(store, job_id)
    assert outcome(store, job_id) == expected
    log = (tmp_path / "worker.log").read_text()
    assert "exited with 'signal 9 (SIGKILL)'" in log and "WorkerLostError" in log


def kill_mid_evaluation(worker: celery_worker.Worker, timeout: float = 60) -> None:
    """SIGKILLs the pool child while its sandbox is evaluating (its warm parent's template has a child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in worker.children():
            for warm_parent in celery_worker.descendants(child):
                if len(celery_worker.descendants(warm_parent)) > 1:  # the template, and the child it forked
                    os.kill(child, 9)
                    return
        time.sleep(0.002)
    raise AssertionError("never caught the sandbox mid-evaluation")


def test_a_whole_worker_killed_mid_job_is_finished_by_a_new_worker(env, pool, tmp_path):
    expected = reference(JOB_SPEC, pool, tmp_path)
    restore = '{"unacked_restore_interval": 1, "unacked_restore_throttle": 1}'
    env |= {
        "EVOLVER_TASK_TIME_LIMIT": "3",
        "EVOLVER_VISIBILITY_TIMEOUT": "4",
        "EVOLVER_BROKER_TRANSPORT_OPTIONS": restore,
    }
    store = store_of(env)
    with celery_worker.running(env, tmp_path / "first.log") as first:
        job_id = submit(*JOB)
        while len(store.lineage(job_id)) < 4:
            time.sleep(0.01)
        first.kill()
    written = len(store.lineage(job_id))
    with celery_worker.running(env, tmp_path / "second.log"):
        wait_done(store, job_id)
    assert written < len(expected) and outcome(store, job_id) == expected


def test_lost_messages_are_resent_by_resume_and_by_the_sweeper(env, pool, tmp_path, broker):
    """Redis restarted without its data: the messages are gone, the store still knows what is left to do."""
    expected = reference(JOB_SPEC, pool, tmp_path)
    store = store_of(env)
    with celery_worker.running(env, tmp_path / "first.log") as first:
        resumed = submit(*JOB)
        swept = submit(*JOB)
        while len(store.lineage(resumed)) < 3:
            time.sleep(0.01)
        first.kill()
    redis.Redis.from_url(broker).flushall()
    result = invoke("resume", str(resumed), "--queue")
    assert result.exit_code == 0, result.output
    env |= {"EVOLVER_STALE_AFTER": "1", "EVOLVER_SWEEP_INTERVAL": "1"}
    with celery_worker.running(env, tmp_path / "second.log", beat=True):
        wait_done(store, resumed)
        wait_done(store, swept)
    assert outcome(store, resumed) == expected
    assert outcome(store, swept) == expected


def test_an_unreachable_broker_is_a_clear_error_and_writes_nothing(env, tmp_path, monkeypatch):
    dead = f"redis://127.0.0.1:{postgres.free_port()}/0"
    monkeypatch.setenv("EVOLVER_BROKER_URL", dead)
    for args in (JOB, TOURNAMENT):
        result = invoke(*args, "--queue")
        assert result.exit_code == 2
        assert f"error: cannot reach the broker at {dead}" in result.output
        assert "EVOLVER_BROKER_URL" in result.output
    assert store_of(env).jobs() == []


def test_queue_without_a_broker_says_how_to_configure_one(env, monkeypatch):
    monkeypatch.delenv("EVOLVER_BROKER_URL")
    result = invoke(*JOB, "--queue")
    assert result.exit_code == 2 and "no broker is configured: set EVOLVER_BROKER_URL" in result.output


def test_a_redis_restart_with_its_append_only_file_loses_no_queued_work(env, pool, tmp_path, monkeypatch):
    """Redis as the compose file runs it (appendonly): stopped mid-job and started again, the job still ends."""
    expected = reference(JOB_SPEC, pool, tmp_path)
    server = redis_server.Server(tmp_path, postgres.free_port(), appendonly=True)
    env |= {"EVOLVER_BROKER_URL": server.url, "EVOLVER_STALE_AFTER": "3", "EVOLVER_SWEEP_INTERVAL": "1"}
    monkeypatch.setenv("EVOLVER_BROKER_URL", server.url)
    store = store_of(env)
    server.start()
    try:
        with celery_worker.running(env, tmp_path / "worker.log", beat=True):
            job_id = submit(*JOB)
            while len(store.lineage(job_id)) < 3:
                time.sleep(0.01)
            server.stop()
            time.sleep(1)
            server.start()
            wait_done(store, job_id)
    finally:
        server.stop()
    assert outcome(store, job_id) == expected


def test_through_the_queue_a_wrong_key_fails_a_job_and_retires_a_tournaments_model(env, pool, tmp_path, monkeypatch):
    model = "openai:gpt-4o-mini"
    with WireServer(wire.openai_error(401, "Incorrect API key provided", "invalid_api_key")) as server:
        for name, value in {"OPENAI_API_KEY": "sk-wrong", "EVOLVER_OPENAI_BASE_URL": f"{server.url}/v1"}.items():
            env[name] = value
            monkeypatch.setenv(name, value)
        spec = JobSpec(kind="tournament", scenario="ai3_plugins", models=("local:gp", "local:random", model), rounds=1)
        store = Store(f"sqlite:///{tmp_path / 'reference.db'}")
        store.upgrade()
        expected = outcome(store, Engine(store, Settings(), pool).execute(spec))
        calls = len(server.requests)
        with celery_worker.running(env, tmp_path / "worker.log", concurrency=2):
            job_id = submit("evolve", "ai3_plugins", "--model", model)
            tournament = submit("tournament", "ai3_plugins", "--model", "local:gp", "--model", "local:random",
                                "--model", model, "--rounds", "1")  # fmt: skip
            store = store_of(env)
            deadline = time.monotonic() + 60
            while store.job(job_id).status != "failed":
                assert time.monotonic() < deadline, f"job {job_id} is {store.job(job_id).status}"
                time.sleep(0.1)
            wait_done(store, tournament)
        assert len(server.requests) == calls + 2  # each run asked once, then never again
    job = store.job(job_id)
    assert model in job.error and "OPENAI_API_KEY" in job.error and store.lineage(job_id) == []
    assert outcome(store, tournament) == expected
    assert "401" in store.retired(tournament)[model][1]


def test_a_step_claimed_by_an_advance_killed_before_sending_it_is_sent_by_its_redelivery(env):
    step = Step(key="7:0:local:gp:0", job_id=7, phase=0, model="local:gp", op="init", attempt=0, seed=1,
                parent_id=None, target_id=None, reference_id=None)  # fmt: skip
    broker = redis.Redis.from_url(env["EVOLVER_BROKER_URL"])
    broker.set(f"evolver:step:{step.key}", "advance-1")  # claimed; the worker died before it sent the step
    queue = TaskQueue(Settings())
    try:
        assert queue.dispatch([step], owner="advance-2") == 0  # another advance: the step is someone's
        assert broker.llen("evolver") == 0
        assert queue.dispatch([step], owner="advance-1") == 1  # the same task, delivered again: it sends it
        assert broker.llen("evolver") == 1
    finally:
        queue.close()
