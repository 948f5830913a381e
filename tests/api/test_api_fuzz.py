"""The API fuzzed from its own OpenAPI document (schemathesis): no generated request may give a server error, and
the responses must match the statuses, content types and schemas the document declares.

The fuzzed server has the finished runs' store (a copy) and a real redis-server as its broker with no worker,
so a fuzzed POST /jobs or /tournaments that is valid is queued and never runs.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
import redis_server
import schemathesis
from api_server import TOKEN, make_settings, serving
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

import simcore
from evolver.api import create_app
from evolver.settings import Settings
from evolver.store import Store

pytestmark = pytest.mark.integration

EXAMPLES = 40
OPERATIONS = 13  # every route of the API
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
QUICK = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def fuzzed(finished: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The app on a copy of the finished store, queueing to a redis-server that no worker reads."""
    database = tmp_path_factory.mktemp("fuzz") / "lineage.db"
    source, copy = sqlite3.connect(finished["database"]), sqlite3.connect(database)
    source.backup(copy)  # the finished runs, as they are, in a store of the fuzz's own
    source.close()
    copy.close()
    store = Store(f"sqlite:///{database}")
    with redis_server.running() as broker:
        # The simulations below are sent without the token, many of them from one host: the rate limit is not what
        # they test (test_api_limits.py does), so their bucket holds more than they send.
        settings = make_settings(database, broker_url=broker, api_burst=10_000)
        with serving(create_app(settings)) as url:
            yield {"url": url, "store": store, "jobs": store.count_jobs()}
    store.close()


def _document() -> dict:
    """The OpenAPI document the app serves (no store is opened to build it); a test checks it is the served one."""
    settings = Settings(database_url="sqlite://", broker_url=None, api_token=TOKEN)
    return create_app(settings, Store(settings.database_url)).openapi()


DOCUMENT = _document()
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20250101,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "generation": {"max-examples": EXAMPLES, "database": "none", "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
    }
)
# Loaded at collection (schemathesis' lazy `from_fixture` does not run under pytest 9: it reads the removed
# `Node._nodeid`); each case is sent to the served app's URL.
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@schema.parametrize()
@QUICK
def test_no_generated_request_gives_a_server_error(case: schemathesis.Case, fuzzed: dict) -> None:
    case.call_and_validate(base_url=fuzzed["url"], checks=CHECKS, timeout=60)


def test_the_fuzzed_document_is_the_served_one_and_covers_every_route(fuzzed: dict) -> None:
    served = httpx.get(f"{fuzzed['url']}/openapi.json", timeout=30).json()
    assert served == DOCUMENT
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert len(labels) == OPERATIONS, sorted(labels)
    assert {"POST /jobs", "POST /tournaments", "POST /scenarios/{name}/simulate"} <= labels


NAMES = simcore.builtin_names()
FINITE = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def overrides(draw: st.DrawFn) -> tuple[str, dict[str, float]]:
    """A built-in scenario and some of its own variables set to any finite numbers."""
    name = draw(st.sampled_from(NAMES))
    keys = sorted(simcore.load_scenario(name).variables)
    chosen = draw(st.lists(st.sampled_from(keys), max_size=3, unique=True))
    return name, {key: draw(FINITE | st.integers(-(10**6), 10**6)) for key in chosen}


@QUICK
@given(overrides(), st.floats(min_value=0.001, max_value=0.1), st.integers(0, 2**63 - 1))
@example(("vc_unlock", {"seed_vp": 1e308}), 0.05, 0)
@example(("ocean_1ss_dutch_pool", {"dt_consume_value": 0.0}), 0.0625, 0)  # a start price of 0: refused by the auction
@example(("ocean_lb", {"lb_days": 0.0}), 0.0625, 0)  # a plugin failing at a day's end is named, not a server error
def test_simulating_with_any_finite_overrides_is_a_result_or_a_422(fuzzed: dict, chosen, years, seed) -> None:
    """A server error is a bug: what the values make impossible is the caller's 422 with a message."""
    name, variables = chosen
    body = {"variables": variables, "years": years, "seed": seed}
    with httpx.Client(base_url=fuzzed["url"], timeout=60, headers={"Connection": "close"}) as client:
        response = client.post(f"/scenarios/{name}/simulate", json=body)
    assert response.status_code in (200, 422), (body, response.status_code, response.text[:500])
    if response.status_code == 422:
        assert response.json()["error"]
    else:
        data = response.json()
        assert data["scenario"] == name and data["stats"] and math.isclose(data["years"], years)


def test_what_the_fuzz_queued_waits_for_a_worker(fuzzed: dict) -> None:
    """Runs after the fuzz (file order): the jobs it submitted are queued, none ran in the server."""
    store: Store = fuzzed["store"]
    with httpx.Client(base_url=fuzzed["url"], timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        response = client.post("/jobs", json={"scenario": "ai3_plugins", "generations": 1, "attempts": 1})
    assert response.status_code == 202 and response.json()["status"] == "pending", response.text
    added = store.jobs(offset=fuzzed["jobs"])
    assert added and added[-1].id == response.json()["id"]
    assert all(job.status == "pending" and not store.lineage(job.id) for job in added)
