"""The bounds on the API's open compute over real HTTP: the cap on a simulation's years, the rate per client host
(429 with Retry-After), and the queue of charts to draw (503 with Retry-After), as the OpenAPI document declares.
A candidate's charts are its PNG (`chart.png`) or the data the page draws them from (`run.json`): both are bounded
alike.

One server with small limits serves every test here. Each test speaks as a client host of its own, through
X-Forwarded-For: uvicorn takes the client from it for a connection from 127.0.0.1 (as behind a local proxy), so
the tests' buckets do not meet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_server import AUTH, make_settings, serving

from evolver.api import create_app
from evolver.api.throttle import RenderQueue
from evolver.store import Store

pytestmark = pytest.mark.integration

RATE, BURST, QUEUE, MAX_YEARS = 30.0, 2, 1, 0.5  # a token back every 2 s
SIMULATE = "/scenarios/ai3_plugins/simulate"
CHARTS = ("chart.png", "run.json")  # what a candidate's charts are served as, each computed on its first request
QUICK = {"years": 0.01}


@pytest.fixture(scope="module")
def limited(finished: dict) -> Iterator[dict[str, Any]]:
    """A server with small limits on the finished runs (it only reads them), its app, and ok candidates: one whose
    charts it has drawn already (its PNG and its run), one the chart queue's test draws, and one never drawn."""
    settings = make_settings(
        finished["database"], api_rate_per_minute=RATE, api_burst=BURST, api_chart_queue=QUEUE,
        api_max_simulated_years=MAX_YEARS,
    )  # fmt: skip
    store = Store(settings.database_url)
    drawn, fresh, undrawn = [row.id for row in store.lineage(finished["evolve"]) if row.status == "ok"][:3]
    app = create_app(settings, store)
    with serving(app) as url:
        with httpx.Client(base_url=url, timeout=60, headers=AUTH) as client:
            for what in CHARTS:
                assert client.get(f"/candidates/{drawn}/{what}").status_code == 200
        yield {"url": url, "app": app, "drawn": drawn, "fresh": fresh, "undrawn": undrawn}
    store.close()


def client_at(limited: dict, host: str, **headers: str) -> httpx.Client:
    """A client the server sees as `host`."""
    return httpx.Client(base_url=limited["url"], timeout=60, headers={"X-Forwarded-For": host, **headers})


def problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text[:1000])
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def retry_after(response: httpx.Response) -> int:
    """The Retry-After header, checked to be whole seconds, at least one, and the wait the message gives."""
    seconds = int(response.headers["retry-after"])
    assert seconds >= 1 and f"retry in {seconds} s" in response.json()["error"]
    return seconds


def test_a_client_over_the_rate_is_told_when_to_retry_and_is_served_then(limited):
    with client_at(limited, "198.51.100.1") as client:
        for _ in range(BURST):
            assert client.post(SIMULATE, json=QUICK).status_code == 200
        refused = client.post(SIMULATE, json=QUICK)
        message = problem(refused, 429)
        assert "198.51.100.1" in message and "EVOLVER_API_RATE_PER_MINUTE" in message
        wait = retry_after(refused)
        assert 1 <= wait <= 60 / RATE
        for what in CHARTS:
            assert problem(client.get(f"/candidates/{limited['undrawn']}/{what}"), 429)  # one bucket for all
            assert limited["app"].state.renders.cached((limited["undrawn"], what)) is None  # and no render started
        chart = client.get(f"/candidates/{limited['drawn']}/chart.png")
        assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")  # a drawn chart is free
        run = client.get(f"/candidates/{limited['drawn']}/run.json")
        assert run.status_code == 200 and run.json()["candidate_id"] == limited["drawn"]  # and so is a run
        assert client.post(SIMULATE, json=QUICK, headers=AUTH).status_code == 200  # the token passes
        wrong = client.post(SIMULATE, json=QUICK, headers={"Authorization": "Bearer wrong"})
        assert problem(wrong, 429)  # a wrong token is no token
        time.sleep(wait)
        assert client.post(SIMULATE, json=QUICK).status_code == 200


def test_another_client_is_not_affected(limited):
    with client_at(limited, "198.51.100.2") as greedy, client_at(limited, "198.51.100.3") as other:
        assert [greedy.post(SIMULATE, json=QUICK).status_code for _ in range(BURST + 1)][-1] == 429
        for _ in range(BURST):
            assert other.post(SIMULATE, json=QUICK).status_code == 200


def test_requests_refused_before_they_compute_cost_nothing(limited):
    with client_at(limited, "198.51.100.4") as client:
        for _ in range(BURST + 2):
            assert problem(client.post(SIMULATE, json={"years": MAX_YEARS * 2}), 422)
            assert problem(client.post("/scenarios/nowhere/simulate", json=QUICK), 404)
            assert problem(client.post(SIMULATE, json={"variables": {"iaip": "cheap"}}), 422)
        for _ in range(BURST):
            assert client.post(SIMULATE, json=QUICK).status_code == 200


def test_a_simulation_over_the_cap_is_a_422_naming_the_cap_for_anyone(limited):
    with client_at(limited, "198.51.100.5") as client:
        for headers in ({}, AUTH):
            message = problem(client.post(SIMULATE, json={"years": 0.75}, headers=headers), 422)
            assert "years" in message and f"{MAX_YEARS:g} years" in message
            assert "EVOLVER_API_MAX_SIMULATED_YEARS" in message and f"at most {MAX_YEARS:g}" in message
        message = problem(client.post(SIMULATE, json={}), 422)  # ai3_plugins runs a year by default
        assert "1 is more than" in message and f"at most {MAX_YEARS:g}" in message
        response = client.post(SIMULATE, json={"years": MAX_YEARS})
        assert response.status_code == 200 and response.json()["years"] == MAX_YEARS


def test_a_full_chart_queue_is_a_503_with_retry_after_and_starts_no_render(limited):
    renders: RenderQueue = limited["app"].state.renders
    release = threading.Event()
    holders = [  # the render in progress and the QUEUE requests waiting behind it, held until released
        threading.Thread(target=renders.render, args=(f"held-{i}", lambda: release.wait(30) and b"png"))
        for i in range(QUEUE + 1)
    ]
    fresh = [f"/candidates/{limited['fresh']}/{what}" for what in CHARTS]
    with client_at(limited, "198.51.100.6", **AUTH) as client:  # the token passes the rate, not the queue
        try:
            for count, holder in enumerate(holders, 1):
                holder.start()
                deadline = time.monotonic() + 10
                while renders.inside < count:
                    assert time.monotonic() < deadline
                    time.sleep(0.005)
            for path, what in zip(fresh, CHARTS, strict=True):
                started = time.monotonic()
                busy = client.get(path)
                assert time.monotonic() - started < 5  # refused, not queued
                assert "EVOLVER_API_CHART_QUEUE" in problem(busy, 503)
                retry_after(busy)
                assert renders.inside == QUEUE + 1 and renders.cached((limited["fresh"], what)) is None
            drawn = client.get(f"/candidates/{limited['drawn']}/chart.png")
            assert drawn.status_code == 200 and drawn.content.startswith(b"\x89PNG")  # a drawn chart never waits
        finally:
            release.set()
            for holder in holders:
                holder.join(30)
        chart, run = (client.get(path) for path in fresh)
        assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
        assert run.status_code == 200 and run.json()["candidate_id"] == limited["fresh"]


def test_the_openapi_document_declares_the_limits(limited):
    document = httpx.get(f"{limited['url']}/openapi.json", timeout=30).json()
    retry = {
        "description": "Whole seconds to wait before retrying (at least 1).",
        "schema": {"type": "integer", "minimum": 1},
    }
    simulate = document["paths"]["/scenarios/{name}/simulate"]["post"]["responses"]
    chart = document["paths"]["/candidates/{candidate_id}/chart.png"]["get"]["responses"]
    run = document["paths"]["/candidates/{candidate_id}/run.json"]["get"]["responses"]
    for responses, codes in ((simulate, ["429"]), (chart, ["429", "503"]), (run, ["429", "503"])):
        for code in codes:
            assert responses[code]["headers"] == {"Retry-After": retry}
            assert "Retry-After" in responses[code]["description"]
    assert "EVOLVER_API_RATE_PER_MINUTE" in simulate["429"]["description"]
    assert "EVOLVER_API_CHART_QUEUE" in chart["503"]["description"] == run["503"]["description"]
    throttled = sorted(
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "429" in operation["responses"]
    )
    assert throttled == [
        "GET /candidates/{candidate_id}/chart.png",
        "GET /candidates/{candidate_id}/run.json",
        "POST /scenarios/{name}/simulate",
    ]
    years = document["components"]["schemas"]["SimulateIn"]["properties"]["years"]
    assert {"type": "number", "exclusiveMinimum": 0.0, "maximum": MAX_YEARS} in years["anyOf"]
    assert "EVOLVER_API_MAX_SIMULATED_YEARS" in years["description"]
