"""One settings object for the whole service, read once at the edge from the environment and passed down.

Settings are `EVOLVER_*` variables; the model providers' keys keep their usual names (`OPENAI_API_KEY`,
`ANTHROPIC_API_KEY`) and are secrets: they are never printed, stored, logged or given to the sandbox.
.env.example lists every one of them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PRICES = Path(__file__).with_name("prices.toml")


class ProviderLimit(BaseModel):
    """One provider's quota, shared by every worker: calls in flight at once and calls started per minute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concurrency: PositiveInt | None = None
    per_minute: PositiveInt | None = None


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline: SQLite in the working directory, no queue."""

    model_config = SettingsConfigDict(env_prefix="EVOLVER_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///evolver.db"
    broker_url: str | None = None  # e.g. redis://127.0.0.1:6379/0; None: jobs run in-process
    result_backend: str | None = None  # None: the broker's URL
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("ANTHROPIC_API_KEY"))
    openai_base_url: str | None = None
    anthropic_base_url: str | None = None
    ollama_host: str = "http://127.0.0.1:11434"
    request_timeout: PositiveFloat = 60.0  # seconds for one model call
    retry_deadline: PositiveFloat = 60.0  # seconds for one call with all its retries (fatal errors: none)
    prices_path: Path = DEFAULT_PRICES
    provider_limits: dict[str, ProviderLimit] = {}  # JSON, e.g. {"openai": {"concurrency": 4, "per_minute": 60}}
    sandbox_workers: PositiveInt | None = None  # warm sandbox parents per process; None: one per core
    task_time_limit: PositiveFloat = 900.0  # seconds: the hard backstop of one task (the sandbox has its own)
    visibility_timeout: PositiveFloat = 3600.0  # seconds before Redis redelivers an unacknowledged task
    broker_transport_options: dict[str, float] = {}  # JSON, added to kombu's Redis transport options
    max_tasks_per_child: PositiveInt = 10_000  # a new child restarts its warm sandbox parent: not too often
    max_memory_per_child: PositiveInt = 1_000_000  # KiB
    sweep_interval: PositiveFloat = 60.0  # seconds between sweeps for stalled jobs
    stale_after: PositiveFloat = 600.0  # seconds without progress before a running job counts as stalled
    api_token: SecretStr | None = None  # the bearer token `evolver serve` requires of writes; None: writes refused
    # The API's open compute (no token needed): what one request, one client and the chart queue may cost.
    api_max_simulated_years: PositiveFloat = 20.0  # POST /scenarios/{name}/simulate: years x runs (one run)
    api_rate_per_minute: PositiveFloat = 20.0  # simulations and charts drawn, per client host, without the token
    api_burst: PositiveInt = 10  # of those, how many a client may send at once before the rate applies
    api_chart_queue: NonNegativeInt = 4  # requests that may wait while a chart is drawn; beyond, a 503

    @model_validator(mode="after")
    def _redelivery_after_the_hard_limit(self) -> Settings:
        if self.visibility_timeout <= self.task_time_limit:
            raise ValueError(
                f"EVOLVER_VISIBILITY_TIMEOUT ({self.visibility_timeout:g} s) must exceed EVOLVER_TASK_TIME_LIMIT "
                f"({self.task_time_limit:g} s), or a task still running is delivered a second time"
            )
        return self
