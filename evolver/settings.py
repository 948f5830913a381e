"""One settings object for the whole service, read once at the edge from the environment and passed down.

Settings are `EVOLVER_*` variables; the model providers' keys keep their usual names (`OPENAI_API_KEY`,
`ANTHROPIC_API_KEY`) and are secrets: they are never printed, stored, logged or given to the sandbox.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, PositiveFloat, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PRICES = Path(__file__).with_name("prices.toml")


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline: SQLite in the working directory, no queue."""

    model_config = SettingsConfigDict(env_prefix="EVOLVER_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///evolver.db"
    broker_url: str | None = None
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"))
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    ollama_host: str = "http://127.0.0.1:11434"
    request_timeout: PositiveFloat = 60.0  # seconds for one model call
    retry_deadline: PositiveFloat = 300.0  # seconds for one call with all its retries
    prices_path: Path = DEFAULT_PRICES
