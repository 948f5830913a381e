"""The API's bounds on open compute, as objects: the per-client rate limiter on a clock the test moves, and the
render queue driven by real threads (its HTTP side is in test_api_limits.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from evolver.api.throttle import QueueFullError, RateLimiter, RenderQueue


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


# The rate limiter


def test_a_client_gets_its_burst_then_waits_for_the_rate(clock):
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)  # one a second
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(1.0)
    clock.now += 0.25
    assert limiter.take("a") == pytest.approx(0.75)
    clock.now += 0.75
    assert limiter.take("a") == 0
    assert limiter.take("a") == pytest.approx(1.0)


def test_a_refused_request_costs_nothing(clock):
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    assert limiter.take("a") == 0
    for _ in range(100):
        assert limiter.take("a") > 0
    clock.now += 1.0
    assert limiter.take("a") == 0  # the refusals did not dig the bucket deeper


def test_clients_have_buckets_of_their_own(clock):
    limiter = RateLimiter(per_minute=6, burst=2, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(2)] == [0, 0]
    assert limiter.take("10.0.0.1") == pytest.approx(10.0)
    assert [limiter.take("10.0.0.2") for _ in range(2)] == [0, 0]


def test_an_idle_client_gets_no_more_than_the_burst(clock):
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    limiter.take("a")
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)][-1] == pytest.approx(1.0)


def test_clients_are_forgotten_once_their_bucket_has_refilled(clock):
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)  # an empty bucket refills in 2 s
    for client in range(100):
        limiter.take(f"10.0.{client}.1")
        limiter.take(f"10.0.{client}.1")
    assert len(limiter) == 100
    clock.now += 1.5
    limiter.take("late")
    assert len(limiter) == 101  # not refilled yet: still remembered
    clock.now += 0.5
    limiter.take("later")
    assert len(limiter) == 2  # "late" and "later"


def test_memory_never_holds_more_than_max_clients(clock):
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock, max_clients=5)
    for client in range(50):
        limiter.take(str(client))
        assert len(limiter) <= 5
    assert limiter.take("49") == 0 and limiter.take("49") > 0  # the latest are the ones kept


# The render queue


@contextmanager
def renders_held(queue: RenderQueue, keys: list[str]) -> Iterator[threading.Event]:
    """Renders that do not finish until the block ends: the first draws, the others wait for their turn."""
    release = threading.Event()
    threads = [
        threading.Thread(target=queue.render, args=(key, lambda key=key: release.wait(10) and key.encode()))
        for key in keys
    ]
    for count, thread in enumerate(threads, 1):
        thread.start()
        wait_until(lambda count=count: queue.inside >= count)  # in this order: the first draws
    try:
        yield release
    finally:
        release.set()
        for thread in threads:
            thread.join(10)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the renders did not get there"
        time.sleep(0.001)


def never(key: str) -> Callable[[], bytes]:
    def draw() -> bytes:
        raise AssertionError(f"{key} was drawn")

    return draw


def test_renders_run_one_at_a_time():
    queue = RenderQueue(waiting=8, cached=64)
    running, most = 0, 0
    guard = threading.Lock()

    def draw(key: int) -> bytes:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with guard:
            running -= 1
        return str(key).encode()

    results: dict[int, bytes] = {}
    threads = [
        threading.Thread(target=lambda k=k: results.__setitem__(k, queue.render(k, lambda: draw(k)))) for k in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 1 and results == {k: str(k).encode() for k in range(6)} and queue.inside == 0


def test_beyond_the_waiting_bound_a_render_is_refused_without_waiting():
    queue = RenderQueue(waiting=2, cached=64)
    with renders_held(queue, ["drawing", "first", "second"]):
        started = time.monotonic()
        with pytest.raises(QueueFullError) as refused:
            queue.render("third", never("third"))
        assert time.monotonic() - started < 1
        assert refused.value.waiting == 2 and refused.value.retry_after >= 1
        assert queue.inside == 3
    assert queue.inside == 0
    assert [queue.cached(key) for key in ("drawing", "first", "second", "third")] == [
        b"drawing", b"first", b"second", None
    ]  # fmt: skip


def test_with_no_waiting_allowed_only_the_render_in_progress_runs():
    queue = RenderQueue(waiting=0, cached=64)
    with renders_held(queue, ["drawing"]), pytest.raises(QueueFullError):
        queue.render("next", never("next"))


def test_a_kept_result_never_waits():
    queue = RenderQueue(waiting=0, cached=64)
    assert queue.render("kept", lambda: b"png") == b"png"
    with renders_held(queue, ["drawing"]):
        assert queue.cached("kept") == b"png"
        assert queue.render("kept", never("kept")) == b"png"  # the queue is full, and this does not count


def test_what_is_drawn_while_a_request_waits_is_not_drawn_again():
    queue = RenderQueue(waiting=4, cached=64)
    calls = []
    release = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        release.wait(10)
        return b"png"

    first = threading.Thread(target=queue.render, args=("same", slow))
    first.start()
    wait_until(lambda: queue.inside == 1)
    results = []
    second = threading.Thread(target=lambda: results.append(queue.render("same", slow)))
    second.start()
    wait_until(lambda: queue.inside == 2)
    release.set()
    first.join(10)
    second.join(10)
    assert results == [b"png"] and len(calls) == 1


def test_a_failed_render_keeps_nothing_and_frees_its_place():
    queue = RenderQueue(waiting=0, cached=64)

    def broken() -> bytes:
        raise ValueError("the run failed")

    with pytest.raises(ValueError, match="the run failed"):
        queue.render("key", broken)
    assert queue.inside == 0 and queue.cached("key") is None
    assert queue.render("key", lambda: b"png") == b"png"


def test_the_least_recently_used_result_goes_first():
    queue = RenderQueue(waiting=0, cached=2)
    queue.render("a", lambda: b"a")
    queue.render("b", lambda: b"b")
    assert queue.cached("a") == b"a"  # used: "b" is now the oldest
    queue.render("c", lambda: b"c")
    assert [queue.cached(key) for key in "abc"] == [b"a", None, b"c"]
