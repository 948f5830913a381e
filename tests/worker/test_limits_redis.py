"""The Redis-backed provider limits across real processes, each with its own RedisLimiter, on a real redis-server.

Eight processes (forked from a fork server, sharing nothing but Redis) hammer one provider: never more than its
concurrency in flight, exactly its per-minute starts, a SIGKILLed holder's lease expiring, and an unreachable
Redis named in the error.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from multiprocessing.context import ForkServerProcess
from typing import Any

import pytest
import redis
import redis_server
from postgres import free_port

from evolver.errors import ProviderError
from evolver.limits import RedisLimiter
from evolver.settings import ProviderLimit

pytestmark = pytest.mark.integration

PROCESSES = 8
CONTEXT = multiprocessing.get_context("forkserver")
# The fork server imports these once and each process forks from it: far quicker than 8 fresh interpreters.
# (Python 3.11's fork server does not see pytest's sys.path, so this module itself cannot be preloaded.)
CONTEXT.set_forkserver_preload(["pytest", "psycopg", "redis", "evolver.limits"])


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with redis_server.running() as url:
        yield url


@pytest.fixture
def url(server_url: str) -> str:
    """The module's Redis, emptied for each test."""
    with redis.Redis.from_url(server_url) as client:
        client.flushdb()
    return server_url


def _hold_calls(url: str, calls: int, hold: float, start: Any, events: Any) -> None:
    """Makes `calls` calls of `hold` seconds each under concurrency 2; reports (entered, left) per call."""
    limiter = RedisLimiter(url, {"openai": ProviderLimit(concurrency=2)}, deadline=15, lease_seconds=10)
    start.wait(30)
    for _ in range(calls):
        try:
            with limiter.slot("openai:gpt-4o"):
                entered = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
                time.sleep(hold)
                left = time.monotonic()
            events.put((entered, left))
        except ProviderError as exc:
            events.put(str(exc))


def _start_once(url: str, start: Any, results: Any) -> None:
    """Asks once for an anthropic slot under 5 starts per minute with a short deadline; reports the outcome."""
    limiter = RedisLimiter(url, {"anthropic": ProviderLimit(per_minute=5)}, deadline=0.5, lease_seconds=10)
    start.wait(30)
    try:
        with limiter.slot("anthropic:claude"):
            results.put("ok")
    except ProviderError as exc:
        results.put(f"refused: {exc}")


def _hold_forever(url: str, holding: Any) -> None:
    """Takes the only ollama slot (1 s lease) and keeps it until killed."""
    limiter = RedisLimiter(url, {"ollama": ProviderLimit(concurrency=1)}, deadline=5, lease_seconds=1)
    with limiter.slot("ollama:llama3.2:1b"):
        holding.set()
        time.sleep(60)


def _in_processes(target: Callable[..., None], args: tuple[Any, ...], expected: int, replies: Any) -> list[Any]:
    """Runs `target(*args)` in PROCESSES processes; returns the `expected` replies they put."""
    processes: list[ForkServerProcess] = [CONTEXT.Process(target=target, args=args) for _ in range(PROCESSES)]
    try:
        for process in processes:
            process.start()
        got = [replies.get(timeout=20) for _ in range(expected)]
        for process in processes:
            process.join(10)
            assert process.exitcode == 0
        return got
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(5)


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one instant (a span that ends when another begins does not overlap it)."""
    edges = sorted([(entered, 1) for entered, _ in spans] + [(left, -1) for _, left in spans])
    most = open_now = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def test_eight_processes_never_have_more_than_two_calls_in_flight(url: str) -> None:
    calls, hold = 5, 0.05
    events = CONTEXT.Queue()
    start = CONTEXT.Barrier(PROCESSES)
    spans = _in_processes(_hold_calls, (url, calls, hold, start, events), PROCESSES * calls, events)
    assert all(isinstance(span, tuple) for span in spans), [span for span in spans if isinstance(span, str)]
    assert len(spans) == PROCESSES * calls
    assert _most_at_once(spans) == 2
    assert max(left for _, left in spans) - min(entered for entered, _ in spans) >= PROCESSES * calls * hold / 2
    with redis.Redis.from_url(url) as client:
        assert client.zcard("evolver:limit:openai:leases") == 0  # every slot was given back


def test_per_minute_lets_exactly_five_of_eight_processes_start(url: str) -> None:
    results = CONTEXT.Queue()
    outcomes = _in_processes(_start_once, (url, CONTEXT.Barrier(PROCESSES), results), PROCESSES, results)
    assert outcomes.count("ok") == 5
    refused = [outcome for outcome in outcomes if outcome != "ok"]
    assert len(refused) == 3
    assert all("'anthropic'" in r and "per_minute limit of 5" in r and "EVOLVER_PROVIDER_LIMITS" in r for r in refused)
    with redis.Redis.from_url(url) as client:
        assert client.zcard("evolver:limit:anthropic:starts") == 5
        assert 0 < client.pttl("evolver:limit:anthropic:starts") <= 60_000


def test_a_sigkilled_holders_lease_expires_and_the_slot_comes_back(url: str) -> None:
    holding = CONTEXT.Event()
    holder = CONTEXT.Process(target=_hold_forever, args=(url, holding))
    holder.start()
    try:
        assert holding.wait(20), "the holder never got its slot"
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(5)
        assert holder.exitcode == -signal.SIGKILL
    finally:
        if holder.is_alive():
            holder.kill()
    killed = time.monotonic()
    limit = {"ollama": ProviderLimit(concurrency=1)}
    impatient = RedisLimiter(url, limit, deadline=0.1, lease_seconds=1)
    with pytest.raises(ProviderError, match="concurrency limit of 1"), impatient.slot("ollama:llama3.2:1b"):
        pass  # the dead holder's lease still counts
    patient = RedisLimiter(url, limit, deadline=5, lease_seconds=1)
    with patient.slot("ollama:llama3.2:1b"):
        waited = time.monotonic() - killed
    assert waited < 1.5


def test_an_unreachable_redis_is_a_provider_error_naming_the_url() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    limiter = RedisLimiter(url, {"openai": ProviderLimit(concurrency=1)}, deadline=1, lease_seconds=1)
    with pytest.raises(ProviderError) as caught, limiter.slot("openai:gpt-4o"):
        pass
    assert url in str(caught.value) and "EVOLVER_BROKER_URL" in str(caught.value)
    with limiter.slot("ollama:llama3.2:1b"):  # an unlimited provider never asks Redis
        pass
    secret = RedisLimiter(f"redis://:s3cret@127.0.0.1:{port}/0", {"openai": ProviderLimit(per_minute=1)}, 1, 1)
    with pytest.raises(ProviderError) as caught, secret.slot("openai:gpt-4o"):
        pass
    assert f"127.0.0.1:{port}" in str(caught.value) and "s3cret" not in str(caught.value)
