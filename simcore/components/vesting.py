"""Cliff + linear vesting: nothing before the cliff, then the share of the duration elapsed, the total at the end."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from simcore.components.base import Component


class Vesting(Component):
    """Vests `total` linearly from `start` over `duration`; nothing is vested before `start + cliff`, when what
    accrued since `start` unlocks at once (OpenZeppelin's cliff). Time is in any unit, the same for every field."""

    kind = "vesting"
    version = 1
    kpis = ("vested", "unlocked")

    total: float = Field(
        1.0, ge=0.0, le=1e15, description="Tokens vested in all.", json_schema_extra={"unit": "tokens"}
    )
    start: float = Field(0.0, ge=0.0, le=1e4, description="When vesting begins.")
    cliff: float = Field(1.0, ge=0.0, le=1e4, description="Time after `start` before anything is vested.")
    duration: float = Field(4.0, gt=0.0, le=1e4, description="Time after `start` when everything is vested.")
    period: float = Field(1.0, gt=0.0, le=1e4, description="Length of one unlock period, for `unlocked`.")

    @model_validator(mode="after")
    def _cliff_within_duration(self) -> Self:
        if self.cliff > self.duration:
            raise ValueError(f"cliff ({self.cliff}) must not exceed duration ({self.duration})")
        return self

    def vested(self, t: float) -> float:
        """Tokens vested by time `t`."""
        elapsed = t - self.start
        if elapsed < self.cliff:
            return 0.0
        if elapsed >= self.duration:
            return self.total
        return self.total * elapsed / self.duration

    def unlocked(self, n: int) -> float:
        """Tokens that vest during period `n` (from `start + n*period` to `start + (n+1)*period`)."""
        t = self.start + n * self.period
        return self.vested(t + self.period) - self.vested(t)
