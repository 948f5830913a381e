"""`ollama:<model>`: `/api/chat` (not streamed) through the official ollama client, at the configured host.

The client has no retries of its own and no default timeout, so both come from here. Ollama answers 503
when its queue is full; that is retried like any overload. The client's ResponseError drops the response's
headers, so an error status is raised from an httpx response hook instead, Retry-After and all. Its 404
(`model "x" not found, try pulling it first`) is fatal, and so is a host that refuses the connection.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace

import httpx
import ollama

from evolver.errors import ProviderError
from evolver.providers.base import ProposalRequest, Reply
from evolver.providers.retry import (
    TIMED_OUT,
    Failure,
    Fixes,
    RetryPolicy,
    connection_failure,
    error_text,
    explain,
    status_failure,
    unreadable,
)

CHECK_TIMEOUT = 5.0  # seconds for `check` to list the host's models, whatever the request timeout


class OllamaProvider:
    """One model served by Ollama; tokens are its `prompt_eval_count` and `eval_count`."""

    def __init__(self, model: str, host: str, timeout: float, retry: RetryPolicy) -> None:
        self.model_id = f"ollama:{model}"
        self._model = model
        self._host = host
        self._retry = retry
        at_host = f"EVOLVER_OLLAMA_HOST (now {host})"
        self._fixes = Fixes(
            key=f"check {at_host} and OLLAMA_API_KEY",
            model=f"run `ollama pull {model}` on {at_host}",
            connect=f"start `ollama serve` or set {at_host}",
        )
        self._client = self._connect(timeout)

    def check(self) -> None:
        """A fatal ProviderError when the host cannot be reached, refuses us, or has not pulled the model."""
        failure = self._listing_failure()
        if failure is not None and failure.fatal:
            raise ProviderError(f"{self.model_id} failed its check: {explain(failure)}", fatal=True)

    def _listing_failure(self) -> Failure | None:
        """What the host's model list (GET /api/tags within CHECK_TIMEOUT, no retry) says against the model, if
        anything (`llama3` is `llama3:latest`); a fault that may pass (overload, a dropped connection) is
        returned not fatal, for the calls' retries to meet."""
        with closing(self._connect(CHECK_TIMEOUT)) as client:
            try:
                names = {model.model for model in client.list().models}
            except httpx.TimeoutException:
                return Failure(False, f"no answer within {CHECK_TIMEOUT:g} s", fatal=True, fix=self._fixes.connect)
            except Exception as exc:
                failure = _failure(exc, self._fixes) or unreadable(exc)
                if failure is None:
                    raise
                return failure
        if names & {self._model, f"{self._model}:latest"}:
            return None
        return Failure(False, "not among the models the host has pulled", fatal=True, fix=self._fixes.model)

    def propose(self, request: ProposalRequest) -> Reply:
        outcome = self._retry.call(lambda: self._send(request), lambda exc: _failure(exc, self._fixes), self.model_id)
        return replace(outcome.value, latency_ms=outcome.latency_ms, requests=outcome.requests)

    def _connect(self, timeout: float) -> ollama.Client:
        return ollama.Client(host=self._host, timeout=timeout, event_hooks={"response": [_raise_for_status]})

    def _send(self, request: ProposalRequest) -> Reply:
        response = self._client.chat(
            model=self._model,
            messages=list(request.messages),
            options={"temperature": request.temperature, "seed": request.seed, "num_predict": request.max_tokens},
        )
        return Reply(
            text=response.message.content or "",
            model=self.model_id,
            tokens_in=response.prompt_eval_count or 0,
            tokens_out=response.eval_count or 0,
            raw={"finish_reason": response.done_reason, "served_model": response.model},
        )


class StatusError(Exception):
    """An error status from Ollama, with the response (and so its headers) that ResponseError would drop."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} {response.text}")
        self.response = response


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_error:
        response.read()
        raise StatusError(response)


def _failure(exc: Exception, fixes: Fixes) -> Failure | None:
    if isinstance(exc, StatusError):
        response = exc.response
        try:
            text = error_text(response.json()) or response.text
        except ValueError:
            text = response.text
        return status_failure(response.status_code, text, response.headers, fixes)
    if isinstance(exc, httpx.TimeoutException):
        return Failure(True, TIMED_OUT)
    if isinstance(exc, ConnectionError | httpx.TransportError):  # a refused connect comes as ConnectionError
        return connection_failure(exc, fixes)
    return None
