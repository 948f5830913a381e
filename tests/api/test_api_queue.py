"""The API with a broker: what POST /jobs and /tournaments submit is run by a real Celery worker over a real
redis-server (and gives what the same spec gives in-process); an unreachable broker is a 503 that writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import celery_worker
import httpx
import pytest
import redis_server
from api_server import TOKEN, make_settings, serving
from postgres import free_port

from evolver.api import create_app
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool

pytestmark = pytest.mark.integration

JOB = {"scenario": "ai3_plugins", "models": ["local:gp", "local:random"], "generations": 2, "attempts": 1}
TOURNAMENT = {"scenario": "ai3_plugins", "models": ["local:gp", "local:random"], "rounds": 1, "attempts": 1}


def settings_for(database: Path, broker: str) -> Settings:
    return make_settings(database, broker_url=broker, task_time_limit=20, visibility_timeout=25)


def connect(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"})


def outcome(store: Store, job_id: int) -> list[tuple]:
    """What a run produced, independent of row ids and write order."""
    candidates = sorted(
        (row.key.split(":", 1)[1], row.model_id, row.op, row.code_hash, row.status, row.score)
        for row in store.lineage(job_id)
    )
    matches = sorted((m.round, m.challenger, m.defender, m.won, m.challenger_score) for m in store.matches(job_id))
    return [*candidates, *matches]


def poll_done(client: httpx.Client, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (detail := client.get(f"/jobs/{job_id}").json())["status"] in ("pending", "running"):
        assert time.monotonic() < deadline, f"job {job_id} still {detail['status']} after {timeout} s"
        time.sleep(0.1)
    assert detail["status"] == "done", detail["error"]
    return detail


@pytest.fixture
def broker() -> Iterator[str]:
    with redis_server.running() as url:
        yield url


def test_jobs_submitted_over_http_are_run_by_the_worker(broker, tmp_path):
    database = tmp_path / "lineage.db"
    settings = settings_for(database, broker)
    env = {
        "EVOLVER_BROKER_URL": broker,
        "EVOLVER_DATABASE_URL": settings.database_url,
        "EVOLVER_TASK_TIME_LIMIT": "20",
        "EVOLVER_VISIBILITY_TIMEOUT": "25",
    }
    store = Store(settings.database_url)
    with serving(create_app(settings)) as url, connect(url) as client:  # the app creates the store's tables
        with celery_worker.running(env, tmp_path / "worker.log", concurrency=2):
            response = client.post("/jobs", json=JOB)
            assert response.status_code == 202, response.text
            assert response.json()["status"] in ("pending", "running")
            job_id = response.json()["id"]
            response = client.post("/tournaments", json=TOURNAMENT)
            assert response.status_code == 202, response.text
            tournament_id = response.json()["id"]
            job, tournament = poll_done(client, job_id), poll_done(client, tournament_id)
        lineage = client.get(f"/jobs/{job_id}/lineage").json()
        matches = client.get(f"/tournaments/{tournament_id}").json()["matches"]
    assert lineage["total"] == job["candidates"] == len(store.lineage(job_id)) > 0
    assert len(matches) == len(store.matches(tournament_id)) == 2 and tournament["candidates"] > 0
    log = (tmp_path / "worker.log").read_text()
    assert "evolver.advance" in log and "evolver.evaluate" in log  # the worker ran them, not the server
    reference = Store(f"sqlite:///{tmp_path / 'reference.db'}")
    reference.upgrade()
    with SandboxPool(1) as pool:
        engine = Engine(reference, Settings(broker_url=None), pool)
        expected_job = engine.execute(JobSpec(kind="evolve", **JOB))
        expected_tournament = engine.execute(JobSpec(kind="tournament", **TOURNAMENT))
    assert outcome(store, job_id) == outcome(reference, expected_job)
    assert outcome(store, tournament_id) == outcome(reference, expected_tournament)
    store.close()
    reference.close()


def test_an_unreachable_broker_is_a_503_naming_it_and_writes_nothing(tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    database = tmp_path / "lineage.db"
    with serving(create_app(settings_for(database, dead))) as url, connect(url) as client:
        for path, body in (("/jobs", JOB), ("/tournaments", TOURNAMENT)):
            response = client.post(path, json=body)
            assert response.status_code == 503, response.text
            message = response.json()["error"]
            assert f"cannot reach the broker at {dead}" in message and "EVOLVER_BROKER_URL" in message
        assert client.get("/jobs").json() == {"items": [], "total": 0, "offset": 0, "limit": 50}  # reads still work
    assert Store(f"sqlite:///{database}").count_jobs() == 0
