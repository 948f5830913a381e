"""The model providers, chosen by a model id `provider:model` (`openai:gpt-4o`, `ollama:llama3.2:1b`, `local:gp`).

Each provider's module is imported only when a model of it is asked for, so the CLI and the offline
generators never load an SDK they do not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolver.errors import ProviderError

if TYPE_CHECKING:  # the retry layer (tenacity) and the settings load with the first provider, not with this package
    from pydantic import SecretStr

    from evolver.providers.base import Provider
    from evolver.providers.retry import RetryPolicy
    from evolver.settings import Settings

PROVIDERS = ("openai", "anthropic", "ollama", "local")


def parse_model_id(model_id: str) -> tuple[str, str]:
    """Split `provider:model` at its first colon (the model part may hold more); ProviderError if malformed."""
    provider, colon, model = model_id.partition(":")
    known = ", ".join(PROVIDERS)
    if not (colon and provider and model):
        raise ProviderError(f"model id {model_id!r} is not provider:model (e.g. local:gp); providers: {known}")
    if provider not in PROVIDERS:
        raise ProviderError(f"unknown provider {provider!r} in model id {model_id!r}; providers: {known}")
    return provider, model


def get_provider(model_id: str, settings: Settings, retry: RetryPolicy | None = None) -> Provider:
    """The provider for `model_id`, configured from `settings`; `retry` overrides the policy they give."""
    provider, model = parse_model_id(model_id)
    if provider == "local":
        from evolver.providers.local import LocalProvider

        return LocalProvider(model_id)
    from evolver.providers.retry import RetryPolicy

    retry = retry or RetryPolicy.from_settings(settings)
    timeout = settings.request_timeout
    if provider == "openai":
        from evolver.providers.openai import OpenAIProvider

        key = _api_key(settings.openai_api_key, "OPENAI_API_KEY", model_id, settings.openai_base_url)
        return OpenAIProvider(model, key, settings.openai_base_url, timeout, retry)
    if provider == "anthropic":
        from evolver.providers.anthropic import AnthropicProvider

        key = _api_key(settings.anthropic_api_key, "ANTHROPIC_API_KEY", model_id, settings.anthropic_base_url)
        return AnthropicProvider(model, key, settings.anthropic_base_url, timeout, retry)
    from evolver.providers.ollama import OllamaProvider

    return OllamaProvider(model, settings.ollama_host, timeout, retry)


def _api_key(secret: SecretStr | None, variable: str, model_id: str, base_url: str | None) -> str:
    key = secret.get_secret_value() if secret else ""
    if not key:
        hint = f" (any value if the server at {base_url} needs no key)" if base_url else ""
        message = f"{model_id} needs an API key: set {variable}{hint}, or use local:gp offline"
        raise ProviderError(message, fatal=True)
    return key
