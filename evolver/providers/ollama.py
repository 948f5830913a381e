"""`ollama:<model>`: `/api/chat` (not streamed) through the official ollama client, at the configured host.

The client has no retries of its own and no default timeout, so both come from here. Ollama answers 503
when its queue is full; that is retried like any overload. The client's ResponseError drops the response's
headers, so an error status is raised from an httpx response hook instead, Retry-After and all.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import ollama

from evolver.providers.base import ProposalRequest, Reply
from evolver.providers.retry import TIMED_OUT, Failure, RetryPolicy, error_text, status_failure


class OllamaProvider:
    """One model served by Ollama; tokens are its `prompt_eval_count` and `eval_count`."""

    def __init__(self, model: str, host: str, timeout: float, retry: RetryPolicy) -> None:
        self.model_id = f"ollama:{model}"
        self._model = model
        self._retry = retry
        self._client = ollama.Client(host=host, timeout=timeout, event_hooks={"response": [_raise_for_status]})

    def propose(self, request: ProposalRequest) -> Reply:
        outcome = self._retry.call(lambda: self._send(request), _failure, self.model_id)
        return replace(outcome.value, latency_ms=outcome.latency_ms, requests=outcome.requests)

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


def _failure(exc: Exception) -> Failure | None:
    if isinstance(exc, StatusError):
        response = exc.response
        try:
            text = error_text(response.json()) or response.text
        except ValueError:
            text = response.text
        return status_failure(response.status_code, text, response.headers)
    if isinstance(exc, httpx.TimeoutException):
        return Failure(True, TIMED_OUT)
    if isinstance(exc, ConnectionError | httpx.TransportError):  # a refused connect comes as ConnectionError
        return Failure(True, f"connection failed: {exc}")
    return None
