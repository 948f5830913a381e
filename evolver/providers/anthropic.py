"""`anthropic:<model>`: the messages API through the official SDK.

System messages go in the request's `system` field (joined by a blank line), the rest as `messages` in order.
The messages API (as of SDK 2.x) takes neither a seed nor a temperature, so the request's are not sent: a
reply is reproducible only through the caller's reply cache.
"""

from __future__ import annotations

from dataclasses import replace

import anthropic

from evolver.providers.base import ProposalRequest, Reply
from evolver.providers.retry import Failure, RetryPolicy, Unreadable, sdk_failure, sdk_fixes

ANTHROPIC_URL = "https://api.anthropic.com"


class AnthropicProvider:
    """One Claude model; the SDK's retries are off so `retry` is the only retry layer."""

    def __init__(self, model: str, api_key: str, base_url: str | None, timeout: float, retry: RetryPolicy) -> None:
        self.model_id = f"anthropic:{model}"
        self._model = model
        self._key = api_key
        self._retry = retry
        self._fixes = sdk_fixes("ANTHROPIC_API_KEY", "EVOLVER_ANTHROPIC_BASE_URL", base_url, ANTHROPIC_URL)
        self._client = anthropic.Anthropic(
            api_key=api_key, base_url=base_url or ANTHROPIC_URL, timeout=timeout, max_retries=0
        )

    def check(self) -> None:
        """Nothing to check without spending: a wrong key or model fails the first call at once, as fatal."""

    def propose(self, request: ProposalRequest) -> Reply:
        outcome = self._retry.call(lambda: self._send(request), self._failure, self.model_id, (self._key,))
        return replace(outcome.value, latency_ms=outcome.latency_ms, requests=outcome.requests)

    def _send(self, request: ProposalRequest) -> Reply:
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        response = self._client.messages.create(
            model=self._model,
            max_tokens=request.max_tokens,
            messages=[m for m in request.messages if m["role"] != "system"],  # type: ignore[misc]
            **({"system": system} if system else {}),
        )
        if response.content is None or response.usage is None:
            raise Unreadable("the reply holds no content or usage")
        return Reply(
            text="".join(block.text for block in response.content if block.type == "text"),
            model=self.model_id,
            tokens_in=response.usage.input_tokens,
            tokens_out=response.usage.output_tokens,
            raw={"finish_reason": response.stop_reason, "id": response.id, "served_model": response.model},
        )

    def _failure(self, exc: Exception) -> Failure | None:
        return sdk_failure(exc, anthropic, self._fixes)
