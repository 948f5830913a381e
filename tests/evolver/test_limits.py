"""The in-process provider limits with threads: concurrency, the per-minute window, deadlines and the choice."""

from __future__ import annotations

import threading
import time

import pytest

from evolver.errors import ProviderError
from evolver.limits import LocalLimiter, RedisLimiter, limiter_for, provider_of
from evolver.settings import ProviderLimit, Settings


def _hammer(limiter: LocalLimiter, model_id: str, threads: int, hold: float) -> tuple[int, int]:
    """`threads` threads each hold one slot for `hold` seconds; returns (most in flight at once, calls done)."""
    lock, in_flight, most, done = threading.Lock(), [0], [0], [0]
    start = threading.Barrier(threads)

    def call() -> None:
        start.wait()
        with limiter.slot(model_id):
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(hold)
            with lock:
                in_flight[0] -= 1
                done[0] += 1

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    return most[0], done[0]


def test_provider_of_is_the_part_before_the_first_colon() -> None:
    assert provider_of("ollama:llama3.2:1b") == "ollama"
    assert provider_of("openai:gpt-4o") == "openai"


@pytest.mark.parametrize("concurrency", [1, 3])
def test_never_more_than_the_concurrency_in_flight(concurrency: int) -> None:
    limiter = LocalLimiter({"openai": ProviderLimit(concurrency=concurrency)}, deadline=10)
    most, done = _hammer(limiter, "openai:gpt-4o", threads=12, hold=0.02)
    assert (most, done) == (concurrency, 12)


def test_exit_frees_the_slot_even_when_the_call_fails() -> None:
    limiter = LocalLimiter({"openai": ProviderLimit(concurrency=1)}, deadline=0.1)
    with pytest.raises(RuntimeError), limiter.slot("openai:gpt-4o"):
        raise RuntimeError("the call failed")
    with limiter.slot("openai:gpt-4o"):
        pass


def test_a_full_concurrency_waits_for_a_release() -> None:
    limiter = LocalLimiter({"anthropic": ProviderLimit(concurrency=1)}, deadline=5)
    held = threading.Event()

    def hold() -> None:
        with limiter.slot("anthropic:claude"):
            held.set()
            time.sleep(0.2)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    with limiter.slot("anthropic:claude"):
        waited = time.monotonic() - started
    holder.join()
    assert 0.1 < waited < 2


def test_a_full_concurrency_past_the_deadline_names_the_provider_and_the_setting() -> None:
    limiter = LocalLimiter({"anthropic": ProviderLimit(concurrency=1)}, deadline=0.1)
    started = time.monotonic()
    with limiter.slot("anthropic:claude"), pytest.raises(ProviderError) as caught, limiter.slot("anthropic:x"):
        pass
    assert 0.1 <= time.monotonic() - started < 1
    message = str(caught.value)
    assert "'anthropic'" in message and "concurrency limit of 1" in message
    assert "EVOLVER_PROVIDER_LIMITS" in message and "within 0.1 s" in message


def test_the_per_minute_cap_refuses_a_fourth_start_within_the_minute() -> None:
    limiter = LocalLimiter({"openai": ProviderLimit(per_minute=3)}, deadline=0.2)
    for _ in range(3):
        with limiter.slot("openai:gpt-4o"):
            pass
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught, limiter.slot("openai:gpt-4o"):
        pass
    assert time.monotonic() - started < 0.1  # the window frees in ~60 s: no point waiting out the deadline
    message = str(caught.value)
    assert "'openai'" in message and "per_minute limit of 3" in message and "EVOLVER_PROVIDER_LIMITS" in message


def test_a_start_waits_for_the_window_to_move_on() -> None:
    limiter = LocalLimiter({"openai": ProviderLimit(per_minute=2)}, deadline=5, window=0.3)
    started = time.monotonic()
    for _ in range(3):
        with limiter.slot("openai:gpt-4o"):
            pass
    assert 0.25 < time.monotonic() - started < 2


def test_the_per_minute_cap_counts_starts_across_threads() -> None:
    limiter = LocalLimiter({"openai": ProviderLimit(concurrency=2, per_minute=5)}, deadline=0.3)
    outcomes: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            with limiter.slot("openai:gpt-4o"):
                outcome = "ok"
        except ProviderError:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=call) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    assert sorted(outcomes) == ["ok"] * 5 + ["refused"] * 3


def test_an_unlimited_provider_passes_straight_through() -> None:
    limiter = LocalLimiter(
        {"openai": ProviderLimit(concurrency=1, per_minute=1), "local": ProviderLimit()}, deadline=0.01
    )
    with limiter.slot("ollama:llama3.2:1b"), limiter.slot("ollama:llama3.2:1b"), limiter.slot("local:gp"):
        for _ in range(100):
            with limiter.slot("local:gp"), limiter.slot("ollama:qwen"):
                pass
    with LocalLimiter({}, deadline=0.01).slot("openai:gpt-4o"):
        pass


def test_limiter_for_picks_redis_on_a_broker_else_in_process() -> None:
    limits = {"openai": {"concurrency": 2, "per_minute": 30}}
    local = limiter_for(Settings(broker_url=None, provider_limits=limits, retry_deadline=12))
    assert isinstance(local, LocalLimiter)
    assert local.deadline == 12 and local.limits == {"openai": ProviderLimit(concurrency=2, per_minute=30)}
    url = "redis://127.0.0.1:1/0"  # nothing is contacted until a limited call asks for a slot
    shared = limiter_for(Settings(broker_url=url, provider_limits=limits, retry_deadline=12, task_time_limit=40))
    assert isinstance(shared, RedisLimiter)
    assert (shared.url, shared.deadline, shared.lease_seconds) == (url, 12, 40)
    assert shared.limits == local.limits
