"""A ramped exponential minting schedule: `simcore.agents.minter.RampedExpSchedule` as a component."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from simcore.agents.minter import RampedExpSchedule
from simcore.components.base import Component


class MintingSchedule(Component):
    """Bitcoin-style halving emission (share minted by `t` years: 1 - 0.5^(t/half_life)), ramped up: multiplier m1
    from t0, m2 from t1, m3 from t2, in full from t3. Defaults are Ocean's 51 % minter (`simcore.netlists.wsloop`).
    The maths is `RampedExpSchedule`'s, whose source is part of this component's hash."""

    kind = "minting_schedule"
    version = 1
    kpis = ("minted_share", "minted")
    depends_on = (RampedExpSchedule,)

    total: float = Field(
        719.1e6, ge=0.0, le=1e15, description="Tokens the schedule mints in all.", json_schema_extra={"unit": "tokens"}
    )
    half_life: float = Field(
        4.0,
        gt=0.0,
        le=100.0,
        description="Years for half of what is left to be minted.",
        json_schema_extra={"unit": "years"},
    )
    t0: float = Field(
        0.5, ge=0.0, le=100.0, description="Year minting starts, at multiplier m1.", json_schema_extra={"unit": "years"}
    )
    t1: float = Field(
        1.0, ge=0.0, le=100.0, description="Year the multiplier becomes m2.", json_schema_extra={"unit": "years"}
    )
    t2: float = Field(
        1.4, ge=0.0, le=100.0, description="Year the multiplier becomes m3.", json_schema_extra={"unit": "years"}
    )
    t3: float = Field(
        3.0, ge=0.0, le=100.0, description="Year minting runs in full.", json_schema_extra={"unit": "years"}
    )
    m1: float = Field(0.10, ge=0.0, le=1.0, description="Multiplier from t0 to t1.")
    m2: float = Field(0.25, ge=0.0, le=1.0, description="Multiplier from t1 to t2.")
    m3: float = Field(0.50, ge=0.0, le=1.0, description="Multiplier from t2 to t3.")

    @model_validator(mode="after")
    def _ordered_breakpoints(self) -> Self:
        if not self.t0 <= self.t1 <= self.t2 <= self.t3:
            raise ValueError(f"breakpoints must satisfy t0 <= t1 <= t2 <= t3, got {self.t0, self.t1, self.t2, self.t3}")
        return self

    @property
    def schedule(self) -> RampedExpSchedule:
        """The schedule function these parameters define."""
        fields = ("half_life", "t0", "t1", "t2", "t3", "m1", "m2", "m3")
        return RampedExpSchedule(**{f: getattr(self, f) for f in fields})

    def minted_share(self, t: float) -> float:
        """Share of `total` minted by `t` years."""
        return self.schedule(t)

    def minted(self, t: float) -> float:
        """Tokens minted by `t` years."""
        return self.total * self.schedule(t)

    def minted_between(self, t_from: float, t_to: float) -> float:
        """Tokens minted from `t_from` to `t_to` years (what a minter sends at `t_to` after minting at `t_from`)."""
        s = self.schedule
        return self.total * (s(t_to) - s(t_from))
