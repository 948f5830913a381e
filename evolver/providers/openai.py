"""`openai:<model>`: chat completions through the official SDK, against OpenAI or any compatible server.

The token limit goes as `max_completion_tokens` to OpenAI itself (its reasoning models refuse `max_tokens`)
and as `max_tokens` to any other server at a configured base URL: compatible servers long knew only that name.
"""

from __future__ import annotations

from dataclasses import replace

import openai

from evolver.providers.base import ProposalRequest, Reply
from evolver.providers.retry import Failure, RetryPolicy, Unreadable, sdk_failure, sdk_fixes

OPENAI_URL = "https://api.openai.com/v1"


class OpenAIProvider:
    """One OpenAI chat model; the SDK's retries are off so `retry` is the only retry layer."""

    def __init__(self, model: str, api_key: str, base_url: str | None, timeout: float, retry: RetryPolicy) -> None:
        self.model_id = f"openai:{model}"
        self._model = model
        self._key = api_key
        compatible = base_url is not None and base_url.rstrip("/") != OPENAI_URL
        self._limit_field = "max_tokens" if compatible else "max_completion_tokens"
        self._retry = retry
        self._fixes = sdk_fixes("OPENAI_API_KEY", "EVOLVER_OPENAI_BASE_URL", base_url, OPENAI_URL)
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url or OPENAI_URL, timeout=timeout, max_retries=0)

    def check(self) -> None:
        """Nothing to check without spending: a wrong key or model fails the first call at once, as fatal."""

    def propose(self, request: ProposalRequest) -> Reply:
        outcome = self._retry.call(lambda: self._send(request), self._failure, self.model_id, (self._key,))
        return replace(outcome.value, latency_ms=outcome.latency_ms, requests=outcome.requests)

    def _send(self, request: ProposalRequest) -> Reply:
        response = self._client.chat.completions.create(
            model=self._model,
            messages=list(request.messages),  # type: ignore[arg-type]  # role/content dicts, as the API takes
            temperature=request.temperature,
            seed=request.seed,
            **{self._limit_field: request.max_tokens},
        )
        if not response.choices:
            raise Unreadable("the reply holds no choices")
        choice = response.choices[0]
        usage = response.usage
        return Reply(
            text=choice.message.content or choice.message.refusal or "",
            model=self.model_id,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            raw={
                "finish_reason": choice.finish_reason,
                "refusal": choice.message.refusal,
                "id": response.id,
                "served_model": response.model,
            },
        )

    def _failure(self, exc: Exception) -> Failure | None:
        return sdk_failure(exc, openai, self._fixes)
