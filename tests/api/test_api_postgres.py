"""The API on a real PostgreSQL store: a job and a tournament posted, run in the server, read back in pages."""

from __future__ import annotations

import time

import httpx
import postgres
import psycopg
import pytest
from api_server import AUTH, TOKEN, serving
from sqlalchemy.engine import make_url

from evolver.api import create_app
from evolver.settings import Settings
from evolver.store import Store

pytestmark = pytest.mark.integration


def finished(client: httpx.Client, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (detail := client.get(f"/jobs/{job_id}").json())["status"] in ("pending", "running"):
        assert time.monotonic() < deadline, detail
        time.sleep(0.2)
    return detail


def test_runs_posted_to_an_api_on_postgresql_are_read_back_as_stored() -> None:
    with postgres.running() as server:
        url = postgres.create_database(server, "api")
        assert make_url(url).get_backend_name() == "postgresql"
        settings = Settings(database_url=url, broker_url=None, api_token=TOKEN)
        with serving(create_app(settings)) as base, httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
            body = {"scenario": "ai3_plugins", "generations": 3, "attempts": 2}
            job = finished(client, client.post("/jobs", json=body).json()["id"])
            models = ["local:gp", "local:random"]
            tournament_body = {"scenario": "ai3_plugins", "models": models, "rounds": 1, "attempts": 1}
            tournament = finished(client, client.post("/tournaments", json=tournament_body).json()["id"])
            pages = [client.get(f"/jobs/{job['id']}/lineage", params={"offset": n, "limit": 2}).json() for n in (0, 2)]
            board = client.get(f"/tournaments/{tournament['id']}").json()
            listed = client.get("/jobs", params={"kind": "tournament"}).json()
        store = Store(url)
        rows = store.lineage(job["id"])
        assert (job["status"], tournament["status"]) == ("done", "done")
        assert (job["candidates"], job["ok"]) == (len(rows), sum(row.status == "ok" for row in rows))
        assert [item["id"] for page in pages for item in page["items"]] == [row.id for row in rows][:4]
        assert all(page["total"] == len(rows) for page in pages)
        best = store.best(job["id"], "max")
        assert (job["best"], job["best_candidate"]) == (best.score, best.id)
        assert [m["challenger"] for m in board["matches"]] == [m.challenger for m in store.matches(tournament["id"])]
        assert sorted(row["model"] for row in board["leaderboard"]) == models
        assert [item["id"] for item in listed["items"]] == [tournament["id"]] and listed["total"] == 1
        store.close()


def test_a_database_that_goes_away_is_a_503_and_the_api_recovers_when_it_is_back() -> None:
    with postgres.running() as server:
        url = postgres.create_database(server, "outage")
        admin = psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        settings = Settings(database_url=url, broker_url=None, api_token=TOKEN)
        with serving(create_app(settings)) as base, httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
            assert client.get("/jobs").status_code == 200
            admin.execute('ALTER DATABASE "outage" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'outage'")
            for path in ("/jobs", "/jobs/1", "/scenarios"):
                response = client.get(path)
                if path == "/scenarios":  # needs no store
                    assert response.status_code == 200
                    continue
                assert response.status_code == 503, response.text
                assert "outage" in response.json()["error"] and "Traceback" not in response.text
            refused = client.post("/jobs", json={"scenario": "ai3_plugins", "generations": 1})
            assert refused.status_code == 503, refused.text
            admin.execute('ALTER DATABASE "outage" ALLOW_CONNECTIONS true')
            assert client.get("/jobs").json()["total"] == 0  # back, and the refused job left nothing
        admin.close()
