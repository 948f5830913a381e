"""The one retry layer around every model call: the SDKs' own retries are off, so this is the only one.

It retries what may pass (rate limits, overload, 5xx, 408, timeouts, dropped connections, unreadable replies)
with exponential backoff and jitter, waits what a Retry-After header asks, and never retries other 4xx.
Some failures are fatal for the model, so they fail at once too: a wrong key (401, 403), an unknown model or
base URL (404), and no server (connection refused, no such host). No new attempt starts once its wait would
pass the deadline, so one call with all its retries lasts at most `deadline + request timeout`. The final
failure becomes a ProviderError with a one-line message: the model id, the requests made, the status and the
provider's own words, with the API key blanked out if echoed, and for a fatal failure the fix.
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Generic, TypeVar

import pydantic
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_exponential_jitter

from evolver.errors import ProviderError
from evolver.settings import Settings

T = TypeVar("T")

RETRIED_4XX = (408, 429)  # a request timeout and a rate limit; every other 4xx fails at once
# What every SDK's ConnectError (httpx's, or httpx2's in the newer openai and anthropic SDKs) holds at the
# bottom of its chain when no connection was made: refused, or no such host
NEVER_CONNECTED = (ConnectionRefusedError, socket.gaierror)
TIMED_OUT = "no answer within the request timeout (EVOLVER_REQUEST_TIMEOUT)"
REASON_CHARS = 300  # of the provider's words in an error message


@dataclass(frozen=True)
class Failure:
    """One failed request as the retry layer sees it: whether another try may pass, why, and any Retry-After.

    A fatal failure (never retryable) means the model cannot be used at all; `fix` says what to change.
    """

    retryable: bool
    reason: str  # e.g. "429 rate_limit_error: slow down", "connection failed: ..."
    retry_after: float | None = None  # seconds the server asked us to wait
    fatal: bool = False
    fix: str = ""  # e.g. "check OPENAI_API_KEY"


@dataclass(frozen=True)
class Fixes:
    """A provider's fix for each fatal failure, naming the setting or command."""

    key: str  # 401 or 403: a wrong key
    model: str  # 404: an unknown model, or a base URL that is not the API
    connect: str  # connection refused or no such host


class Unreadable(Exception):  # noqa: N818 - named for what the reply is, like NoCode
    """A reply that arrived without what the API promises (no choices, no content): retried like a bad body."""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a call returned, with the HTTP requests it took (retries included) and its wall time."""

    value: T
    requests: int
    latency_ms: float


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry one call; waits grow from `first_wait` to `max_wait` seconds."""

    deadline: float = 60.0  # seconds for one call with all its retries (settings.retry_deadline)
    max_attempts: int = 8
    first_wait: float = 1.0
    max_wait: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(deadline=settings.retry_deadline)

    def call(
        self,
        send: Callable[[], T],
        classify: Callable[[Exception], Failure | None],
        model_id: str,
        secrets: tuple[str, ...] = (),
    ) -> Outcome[T]:
        """Run `send` (one HTTP request) until it returns, fails for good, or the deadline or attempts run out.

        `classify` turns the SDK's exceptions into Failures; an exception it does not know (None) and that is
        not an unreadable reply propagates unchanged, since it is a bug rather than a provider's failure.
        """
        requests = 0

        def attempt() -> T:
            nonlocal requests
            requests += 1
            try:
                return send()
            except Exception as exc:
                failure = classify(exc) or unreadable(exc)
                if failure is None:
                    raise
                raise _Failed(failure) from exc

        started = time.monotonic()
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, _Failed) and exc.failure.retryable),
            wait=self._wait,
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.deadline),
            reraise=True,
        )
        try:
            value = retrying(attempt)
        except _Failed as failed:
            seconds = time.monotonic() - started
            message = self._message(model_id, failed.failure, requests, seconds, secrets)
            raise ProviderError(message, fatal=failed.failure.fatal) from None
        return Outcome(value, requests, (time.monotonic() - started) * 1000)

    def _wait(self, state: RetryCallState) -> float:
        """The server's Retry-After when it gave one (the deadline still rules), else backoff with jitter."""
        failed = state.outcome.exception() if state.outcome else None
        if isinstance(failed, _Failed) and failed.failure.retry_after is not None:
            return failed.failure.retry_after
        backoff = wait_exponential_jitter(multiplier=self.first_wait, max=self.max_wait, jitter=self.first_wait)
        return backoff(state)

    def _message(self, model_id: str, failure: Failure, requests: int, seconds: float, secrets: tuple[str, ...]) -> str:
        plural = "" if requests == 1 else "s"
        if not failure.retryable:
            why = "not retried"
        elif requests >= self.max_attempts:
            why = f"the most attempts allowed: {self.max_attempts}"
        else:
            why = f"retry deadline {self.deadline:g} s (EVOLVER_RETRY_DEADLINE)"
            if failure.retry_after is not None and seconds + failure.retry_after >= self.deadline:
                why += f"; the server asked to wait {failure.retry_after:g} s more"
        reason = explain(failure, secrets)
        return f"{model_id} failed after {requests} request{plural} in {seconds:.1f} s ({why}): {reason}"


class _Failed(Exception):  # noqa: N818 - internal carrier, never escapes `RetryPolicy.call`
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def explain(failure: Failure, secrets: tuple[str, ...] = ()) -> str:
    """The reason on one line, any secret blanked out and shortened to REASON_CHARS, then the fix if any."""
    reason = " ".join(failure.reason.split())
    for secret in secrets:
        reason = reason.replace(secret, "***")  # before shortening, so no prefix of a key survives
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    return f"{reason}; fix: {failure.fix}" if failure.fix else reason


def status_failure(status: int, text: str, headers: Mapping[str, str], fixes: Fixes) -> Failure:
    """An HTTP error status: 401, 403 and 404 are fatal; 408, 429 and 5xx retried (529 and 503 mean overloaded)."""
    fix = {401: fixes.key, 403: fixes.key, 404: fixes.model}.get(status)
    if fix:
        return Failure(False, f"{status} {text}", fatal=True, fix=fix)
    retryable = status in RETRIED_4XX or status >= 500
    return Failure(retryable, f"{status} {text}", retry_after(headers) if retryable else None)


def connection_failure(exc: Exception, fixes: Fixes) -> Failure:
    """A connection never made (refused, no such host) is fatal; one dropped or broken mid-answer is retried."""
    cause = next((link for link in _chain(exc) if isinstance(link, NEVER_CONNECTED)), None)
    if cause is not None:
        return Failure(False, f"cannot connect: {cause}", fatal=True, fix=fixes.connect)
    return Failure(True, f"connection failed: {exc.__cause__ or exc}")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc` and the exceptions under it, through `raise ... from` and `from None` alike."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def sdk_fixes(key_variable: str, url_variable: str, base_url: str | None, default_url: str) -> Fixes:
    """The fixes for the openai or anthropic SDK: the key, the model name, and the base URL when one is set."""
    url = f" and {url_variable} (now {base_url})" if base_url else ""
    return Fixes(
        key=f"check {key_variable}{url}",
        model=f"check the model name{url}",
        connect=f"check {url_variable} (now {base_url or default_url}) or your network",
    )


def sdk_failure(exc: Exception, sdk: ModuleType, fixes: Fixes) -> Failure | None:
    """Failures of the openai and anthropic SDKs, which share one generated exception family."""
    if isinstance(exc, sdk.APIStatusError):
        return status_failure(exc.status_code, error_text(exc.body) or exc.message, exc.response.headers, fixes)
    if isinstance(exc, sdk.APITimeoutError):
        return Failure(True, TIMED_OUT)
    if isinstance(exc, sdk.APIConnectionError):
        return connection_failure(exc, fixes)
    return None


def unreadable(exc: Exception) -> Failure | None:
    """A body that is not JSON or lacks the API's fields: a broken proxy or a cut stream, so it is retried."""
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError | Unreadable):
        return Failure(True, f"unreadable reply: {exc}")
    return None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date; None when absent or garbled."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "nan")) / scale
        except ValueError:
            when = email.utils.parsedate_tz(headers[name]) if name == "retry-after" else None
            seconds = email.utils.mktime_tz(when) - time.time() if when else math.nan
        if not math.isnan(seconds):
            return max(seconds, 0.0)
    return None


def error_text(body: object) -> str | None:
    """The provider's own words from an error body: `{"error": {"type", "message"}}`, the inner object alone
    (as the openai SDK keeps it), or `{"error": "..."}` (Ollama)."""
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ": ".join(str(error[key]) for key in ("type", "message") if error.get(key)) or None
    return str(error) if error else None
