"""Fixtures of the API's tests: a store holding finished runs, the app served over HTTP on it, and a browser."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import wire
from api_server import AUTH, REPLIES, make_settings, serving
from playwright.sync_api import Browser, sync_playwright
from wire import WireServer

from evolver.api import create_app
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.store import Store
from sandbox import SandboxPool


@pytest.fixture(scope="package")
def finished(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """A store with four finished runs: a job of local:gp (3 generations of 2 attempts, with held-out seeds), a
    job of openai:gpt-4o-mini through the real SDK against the wire server (failed candidates with their reasons,
    and repairs), a tournament (local:gp vs local:random, 1 round, a held-out seed) and an arena tournament of the
    two (1 round: its challenges head to head, and its market). Returns their ids and the store's path."""
    database = tmp_path_factory.mktemp("api") / "lineage.db"
    settings = make_settings(database)
    store = Store(settings.database_url)
    store.upgrade()
    with SandboxPool(1) as pool:
        engine = Engine(store, settings, pool)
        job = engine.execute(JobSpec(scenario="noisy_market", generations=3, attempts=2, seeds=(0,), heldout=(7, 8)))
        with WireServer(*(wire.openai_reply(text, 100, 20) for text in REPLIES)) as server:
            llm = make_settings(database, openai_base_url=f"{server.url}/v1", OPENAI_API_KEY="sk-test")
            failing = Engine(store, llm, pool).execute(
                JobSpec(scenario="ai3_plugins", models=("openai:gpt-4o-mini",), generations=2, attempts=3)
            )
        models = ("local:gp", "local:random")
        tournament = engine.execute(
            JobSpec(kind="tournament", scenario="ai3_plugins", models=models, rounds=1, heldout=(1,))
        )
        arena = engine.execute(
            JobSpec(
                kind="tournament",
                scenario="arena",
                models=models,
                rounds=1,
                attempts=1,
                seeds=(0, 1),
                heldout=(),
                years=0.3,
            )
        )
    store.close()
    return {"evolve": job, "failing": failing, "tournament": tournament, "arena": arena, "database": database}  # type: ignore


@pytest.fixture(scope="package")
def base_url(finished: dict) -> Iterator[str]:
    """The app on the finished store, served by uvicorn; jobs submitted to it run in its process."""
    with serving(create_app(make_settings(finished["database"]))) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the served app, without the token."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


@pytest.fixture
def auth() -> dict[str, str]:
    """The header that carries the test token."""
    return dict(AUTH)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (never `playwright install`: there is no download here)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()
