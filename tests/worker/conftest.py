"""Fixtures the worker's tests share: a redis-server per module, and the module's served settings in a test's
environment."""

from collections.abc import Iterator

import pytest
import redis_server


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    """A fresh redis-server for the module; its URL."""
    with redis_server.running() as url:
        yield url


@pytest.fixture
def env(served, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI sees what the module's workers (its `served` fixture) see; no model key."""
    settings, _ = served
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return settings
