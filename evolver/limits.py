"""Per-provider quotas on model calls: calls in flight at once and calls started per minute.

`EVOLVER_PROVIDER_LIMITS` sets them per provider (`{"openai": {"concurrency": 4, "per_minute": 60}}`); a provider
without one is not limited. `limiter.slot(model_id)` blocks until the call may start and frees its concurrency
slot on exit; if no slot comes within the deadline it raises ProviderError. `LocalLimiter` counts within one
process; `RedisLimiter` counts across every worker process and machine that shares the broker's Redis, with
leases that expire so that a killed worker cannot hold a slot forever.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from evolver.errors import ProviderError
from evolver.settings import ProviderLimit, Settings

log = logging.getLogger(__name__)

WINDOW = 60.0  # seconds: the window of `per_minute`
POLL = 0.05  # seconds: the longest pause before asking again for a concurrency slot
CONNECT_TIMEOUT = 5.0  # seconds to reach Redis
SOCKET_TIMEOUT = 10.0  # seconds for one Redis reply

Quota = Literal["concurrency", "per_minute"]


class Limiter(Protocol):
    """Grants call slots by a model id's provider."""

    def slot(self, model_id: str) -> contextlib.AbstractContextManager[None]:
        """Blocks on entry until the call may start; exit frees the concurrency slot."""
        ...


def provider_of(model_id: str) -> str:
    """The provider of a model id `provider:model`: the part before the first colon."""
    return model_id.partition(":")[0]


@dataclass(frozen=True)
class _Refusal:
    """Why a slot was refused: the quota that is full, and the wait before asking again.

    For `per_minute` the wait is exact (no earlier start can succeed); for `concurrency` it is at most the wait,
    since a holder may release its slot any moment.
    """

    quota: Quota
    wait: float


class _WaitingLimiter:
    """The waiting loop shared by the limiters; subclasses try once (`_try`), free (`_release`) and pause."""

    def __init__(self, limits: Mapping[str, ProviderLimit], deadline: float, window: float) -> None:
        self.limits, self.deadline, self.window = dict(limits), deadline, window

    @contextlib.contextmanager
    def slot(self, model_id: str) -> Iterator[None]:
        """Blocks until a call to `model_id` may start; ProviderError if that takes more than the deadline."""
        provider = provider_of(model_id)
        limit = self.limits.get(provider)
        if limit is None or (limit.concurrency is None and limit.per_minute is None):
            yield
            return
        token = uuid.uuid4().hex
        self._acquire(provider, limit, token)
        try:
            yield
        finally:
            if limit.concurrency is not None:
                self._release(provider, token)

    def _acquire(self, provider: str, limit: ProviderLimit, token: str) -> None:
        give_up = time.monotonic() + self.deadline
        while (refusal := self._try(provider, limit, token)) is not None:
            left = give_up - time.monotonic()
            if left <= 0 or (refusal.quota == "per_minute" and refusal.wait > left):
                raise ProviderError(self._exhausted(provider, limit, refusal.quota))
            if refusal.quota == "concurrency":
                self._pause(min(refusal.wait, POLL * random.uniform(0.5, 1.0), left))
            else:
                self._pause(refusal.wait)

    def _exhausted(self, provider: str, limit: ProviderLimit, quota: Quota) -> str:
        if quota == "concurrency":
            what = f"its concurrency limit of {limit.concurrency} call(s) in flight"
        else:
            what = f"its per_minute limit of {limit.per_minute} call start(s) per {self.window:g} s"
        example = f'{{"{provider}": {{"concurrency": 4, "per_minute": 60}}}}'
        return (
            f"no call slot for provider {provider!r} within {self.deadline:g} s: it is at {what}; "
            f"raise the limit in EVOLVER_PROVIDER_LIMITS (e.g. EVOLVER_PROVIDER_LIMITS='{example}') "
            "or wait longer with EVOLVER_RETRY_DEADLINE"
        )

    def _try(self, provider: str, limit: ProviderLimit, token: str) -> _Refusal | None:
        """Takes a slot as `token` and returns None, or returns why not."""
        raise NotImplementedError

    def _release(self, provider: str, token: str) -> None:
        """Frees the concurrency slot `token` holds."""
        raise NotImplementedError

    def _pause(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class _Usage:
    in_flight: int = 0
    starts: deque[float] = field(default_factory=deque)


class LocalLimiter(_WaitingLimiter):
    """The quotas counted within this process, shared by its threads: for the in-process executor."""

    def __init__(self, limits: Mapping[str, ProviderLimit], deadline: float, *, window: float = WINDOW) -> None:
        super().__init__(limits, deadline, window)
        self._changed = threading.Condition()
        self._usage: dict[str, _Usage] = {}

    def _try(self, provider: str, limit: ProviderLimit, token: str) -> _Refusal | None:
        with self._changed:
            usage = self._usage.setdefault(provider, _Usage())
            now = time.monotonic()
            while usage.starts and usage.starts[0] <= now - self.window:
                usage.starts.popleft()
            if limit.concurrency is not None and usage.in_flight >= limit.concurrency:
                return _Refusal("concurrency", float("inf"))
            if limit.per_minute is not None and len(usage.starts) >= limit.per_minute:
                return _Refusal("per_minute", usage.starts[0] + self.window - now)
            if limit.concurrency is not None:
                usage.in_flight += 1
            if limit.per_minute is not None:
                usage.starts.append(now)
            return None

    def _release(self, provider: str, token: str) -> None:
        with self._changed:
            self._usage[provider].in_flight -= 1
            self._changed.notify_all()

    def _pause(self, seconds: float) -> None:
        with self._changed:  # woken early when a slot is freed
            self._changed.wait(seconds)


# KEYS: the leases (token -> expiry) and the starts (token -> start time), both sorted sets.
# ARGV: token, concurrency, per_minute (0: no such limit), lease and window in microseconds.
# Returns {1, 0, 0} when the slot is taken, else {0, wait in microseconds, 1: concurrency | 2: per_minute}.
_ACQUIRE = """
local token = ARGV[1]
local concurrency, per_minute = tonumber(ARGV[2]), tonumber(ARGV[3])
local lease, window = tonumber(ARGV[4]), tonumber(ARGV[5])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
if (concurrency > 0 and redis.call('ZSCORE', KEYS[1], token))
    or (concurrency == 0 and redis.call('ZSCORE', KEYS[2], token)) then
  return {1, 0, 0}  -- already granted: a retried call after a lost reply
end
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= concurrency then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, tonumber(first[2]) - now, 1}
  end
end
if per_minute > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= per_minute then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tonumber(first[2]) + window - now, 2}
  end
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[1], now + lease, token)
  redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000))
end
if per_minute > 0 then
  redis.call('ZADD', KEYS[2], now, token)
  redis.call('PEXPIRE', KEYS[2], math.ceil(window / 1000))
end
return {1, 0, 0}
"""


class RedisLimiter(_WaitingLimiter):
    """The quotas counted in Redis, shared by every process and machine that uses it.

    Per provider, `evolver:limit:{provider}:leases` holds the calls in flight (token scored by its expiry,
    `lease_seconds` after the start, so a killed worker's slot comes back) and `evolver:limit:{provider}:starts`
    the call starts of the last minute. One Lua script checks and records both atomically, on Redis's clock.
    """

    def __init__(
        self,
        url: str,
        limits: Mapping[str, ProviderLimit],
        deadline: float,
        lease_seconds: float,
        *,
        window: float = WINDOW,
    ) -> None:
        super().__init__(limits, deadline, window)
        self.url, self.lease_seconds = url, lease_seconds
        retry = Retry(ExponentialWithJitterBackoff(cap=0.2, base=0.01), 2)
        self._redis = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=SOCKET_TIMEOUT, retry=retry
        )
        self._acquire_script = self._redis.register_script(_ACQUIRE)

    def _try(self, provider: str, limit: ProviderLimit, token: str) -> _Refusal | None:
        keys = [self._key(provider, "leases"), self._key(provider, "starts")]
        args = [
            token,
            limit.concurrency or 0,
            limit.per_minute or 0,
            round(self.lease_seconds * 1e6),
            round(self.window * 1e6),
        ]
        try:
            granted, wait, quota = self._acquire_script(keys=keys, args=args)
        except redis.RedisError as exc:
            raise ProviderError(self._unreachable(exc)) from exc
        if granted:
            return None
        return _Refusal("concurrency" if quota == 1 else "per_minute", max(int(wait), 1) / 1e6)

    def _release(self, provider: str, token: str) -> None:
        try:
            self._redis.zrem(self._key(provider, "leases"), token)
        except redis.RedisError as exc:  # the lease expires by itself; the call's own outcome matters more
            log.warning("%s; the %s slot frees when its lease expires", self._unreachable(exc), provider)

    def _unreachable(self, exc: redis.RedisError) -> str:
        from evolver.store.database import masked

        return (
            f"cannot use Redis at {masked(self.url)} for the provider limits ({type(exc).__name__}: {exc}); "
            "check EVOLVER_BROKER_URL and that Redis is running"
        )

    @staticmethod
    def _key(provider: str, name: str) -> str:
        return f"evolver:limit:{provider}:{name}"


def limiter_for(settings: Settings) -> Limiter:
    """Redis-backed limits on the broker when there is one (shared by all workers), else in-process ones."""
    if settings.broker_url:
        return RedisLimiter(
            settings.broker_url,
            settings.provider_limits,
            deadline=settings.retry_deadline,
            lease_seconds=settings.task_time_limit,
        )
    return LocalLimiter(settings.provider_limits, deadline=settings.retry_deadline)
