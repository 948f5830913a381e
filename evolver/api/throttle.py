"""What bounds the compute anyone may ask of the API without a token: a rate per client, and chart renders queued
one at a time behind a bounded wait.

Both live in this process's memory: `evolver serve` runs one process (one uvicorn worker), so every request of
a client meets the same bucket and every chart the same queue. Several worker processes would each count on
their own; that is not how the server is run.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

MAX_CLIENTS = 10_000  # buckets kept at most (a few MB): past it the least recently seen client is forgotten


class RateLimiter:
    """A token bucket per client: `burst` requests at once, refilled at `per_minute`.

    A client whose bucket has refilled is forgotten, which changes nothing (a new client starts full): memory
    holds only the clients seen within one refill (burst / rate), and never more than `max_clients`. Forgetting
    an active client past that cap hands it a full bucket; a cap that is reached is an attack the rate alone
    would not stop anyway.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.per_minute, self.burst = per_minute, burst
        self._per_second = per_minute / 60
        self._clock, self._max_clients = clock, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when), oldest first
        self._lock = threading.Lock()  # the routes run in a pool of threads

    def take(self, client: str) -> float:
        """Takes one of `client`'s tokens and returns 0; with none left, takes nothing and returns the seconds
        until one is back (a refused request costs the client nothing)."""
        with self._lock:
            now = self._clock()
            self._forget_refilled(now)
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self._per_second)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._per_second
            self._buckets[client] = (tokens if wait else tokens - 1, now)
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        """The clients remembered now."""
        return len(self._buckets)

    def _forget_refilled(self, now: float) -> None:
        # Least recently seen first: every client idle for a whole refill is at the front, so this stops early.
        while self._buckets:
            client, (tokens, then) = next(iter(self._buckets.items()))
            if tokens + (now - then) * self._per_second < self.burst:
                return
            del self._buckets[client]


class QueueFullError(Exception):
    """The render queue is full: the request waits for nothing, it is refused."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(f"{waiting} requests already wait for a render; retry in {retry_after} s")
        self.waiting, self.retry_after = waiting, retry_after


class RenderQueue:
    """Renders one at a time, with at most `waiting` requests queued behind the one rendering, and the last
    `cached` results kept (least recently used out).

    One at a time, because a render runs a candidate in the shared sandbox pool and draws with matplotlib, whose
    pyplot is not thread-safe. Bounded, because the routes share one pool of threads: requests left to wait
    without a bound would take every thread and stall every other route. A cached result never waits.
    """

    def __init__(self, waiting: int, cached: int) -> None:
        self.waiting, self.capacity = waiting, cached
        self._results: OrderedDict[Hashable, bytes] = OrderedDict()
        self._turn = threading.Lock()  # held by the render in progress
        self._guard = threading.Lock()  # the count and the results
        self._inside = 0  # requests rendering or waiting to
        self._last = 1.0  # seconds the last render took: what a refused request is told to wait per render ahead

    @property
    def inside(self) -> int:
        """Requests rendering or waiting to, now."""
        return self._inside

    def cached(self, key: Hashable) -> bytes | None:
        """The result for `key` if it is kept, without waiting."""
        with self._guard:
            return self._kept(key)

    def render(self, key: Hashable, draw: Callable[[], bytes]) -> bytes:
        """The result for `key`: kept (at once), or drawn by `draw` in its turn. Raises `QueueFullError` without
        waiting when `waiting` requests already wait. A result drawn while this one waited is not drawn again; a
        `draw` that raises keeps nothing."""
        with self._guard:
            kept = self._kept(key)
            if kept is not None:
                return kept
            if self._inside > self.waiting:
                raise QueueFullError(self._inside - 1, max(1, math.ceil(self._last * self._inside)))
            self._inside += 1
        try:
            with self._turn:
                kept = self.cached(key)
                if kept is not None:
                    return kept
                started = time.monotonic()
                result = draw()
                with self._guard:
                    self._last = time.monotonic() - started
                    self._results[key] = result
                    while len(self._results) > self.capacity:
                        self._results.popitem(last=False)
                return result
        finally:
            with self._guard:
                self._inside -= 1

    def _kept(self, key: Hashable) -> bytes | None:
        # With the guard held. The most recently used last: the first result is the next one dropped.
        if key not in self._results:
            return None
        self._results.move_to_end(key)
        return self._results[key]
