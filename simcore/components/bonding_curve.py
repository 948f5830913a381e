"""Bonding curves: a token minted and burned against the integral of a price curve.

`bonding_curve` is the power law price = base + slope * supply^exponent (with `exponent=1` it is the `linear` curve
of `simcore.plugins.bonding` and costs the same); `sigmoid_bonding_curve` is that plugin's `sigmoid` curve, and runs
as the plugin when a scenario composes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import Field

from simcore.components.base import Component
from simcore.plugins import bonding
from simcore.plugins.bonding import Sigmoid

_TOKENS = {"unit": "tokens"}
_PRICE = {"unit": "reserve/token"}


class _Curve:
    """What every bonding curve reports and does, from its `price_at(s)`, `area(s)` (the integral of the price from
    0 to `s`) and `supply`; a mixin of the curve components, so its source is part of their hash."""

    @property
    def price(self) -> float:
        """The marginal price at the current supply."""
        return self.price_at(self.supply)

    @property
    def reserve(self) -> float:
        """What the reserve holds at the current supply: the area from 0 to the supply."""
        return self.area(self.supply)

    @property
    def market_cap(self) -> float:
        """Supply times price."""
        return self.supply * self.price

    def mint(self, amount: float) -> tuple[float, Self]:
        """The cost of minting `amount` tokens, and the curve at the new supply."""
        if not amount >= 0:
            raise ValueError(f"{self.kind}.mint: amount must be >= 0, got {amount!r}")
        after = self.supply + amount
        return self.area(after) - self.reserve, self.model_copy(update={"supply": after})

    def burn(self, amount: float) -> tuple[float, Self]:
        """The refund for burning `amount` tokens (at most the supply), and the curve at the new supply."""
        if not 0 <= amount <= self.supply:
            raise ValueError(f"{self.kind}.burn: amount must be in [0, {self.supply}], got {amount!r}")
        after = self.supply - amount
        return self.reserve - self.area(after), self.model_copy(update={"supply": after})


class BondingCurve(_Curve, Component):
    """Power-law bonding curve: minting `x` tokens at supply `s` costs the area under the price from `s` to `s + x`;
    burning them refunds the same area, so the reserve always equals the area from 0 to the supply."""

    kind = "bonding_curve"
    version = 1
    kpis = ("price", "reserve", "market_cap")

    base: float = Field(
        0.0,
        ge=0.0,
        le=1e6,
        description="Price at zero supply, in reserve currency per token.",
        json_schema_extra=_PRICE,
    )
    slope: float = Field(1e-3, ge=0.0, le=1e6, description="Coefficient of the power term of the price.")
    exponent: float = Field(1.0, ge=0.0, le=10.0, description="Power of the supply in the price (1 = linear).")
    supply: float = Field(
        0.0,
        ge=0.0,
        le=1e12,
        description="Tokens in circulation, the curve's current position.",
        json_schema_extra=_TOKENS,
    )

    def price_at(self, s: float) -> float:
        """The marginal price at supply `s`."""
        return self.base + self.slope * s**self.exponent

    def area(self, s: float) -> float:
        """The integral of the price from 0 to `s`: base*s + slope*s^(n+1)/(n+1)."""
        n1 = self.exponent + 1.0
        return self.base * s + self.slope * s**n1 / n1


class SigmoidBondingCurve(_Curve, Component):
    """Sigmoid bonding curve: price = cap / (1 + exp(-b*(s - mid))), rising from about 0 to `cap`, half-way at a
    supply of `mid`. A scenario runs it as the `bonding` plugin's sigmoid curve (its maths is that plugin's, whose
    module is part of this component's hash), linked to a token plugin and a reserve currency when given."""

    kind = "sigmoid_bonding_curve"
    version = 1
    kpis = ("price", "reserve", "market_cap")
    depends_on = (bonding,)
    suffixes: ClassVar[Mapping[str, str]] = {"supply": "is"}  # the plugin's initial supply, `KEY_is`

    cap: float = Field(1.0, gt=0.0, le=1e6, description="The price the curve rises to.", json_schema_extra=_PRICE)
    b: float = Field(1e-5, gt=0.0, le=1.0, description="Steepness: how fast the price rises around `mid`, per token.")
    mid: float = Field(
        5e5, ge=0.0, le=1e12, description="Supply at which the price is half of `cap`.", json_schema_extra=_TOKENS
    )
    supply: float = Field(
        0.0,
        ge=0.0,
        le=1e12,
        description="Tokens in circulation, the curve's initial position.",
        json_schema_extra=_TOKENS,
    )
    token: str | None = Field(
        None, description="Key of the scenario's token plugin whose supply follows the curve's (buys mint, sells burn)."
    )
    currency: str | None = Field(None, description="Ticker of the reserve currency (a slot trades the curve for it).")

    @property
    def curve(self) -> Sigmoid:
        """The bonding plugin's curve with these parameters."""
        return Sigmoid(self.cap, self.b, self.mid)

    def price_at(self, s: float) -> float:
        """The marginal price at supply `s`."""
        return self.curve.price(s)

    def area(self, s: float) -> float:
        """The integral of the price from 0 to `s`."""
        return self.curve.integral(0.0, s)

    def plugin(self, key: str) -> dict[str, Any]:
        """The `bonding` plugin with the sigmoid curve, linked to `token` and to `currency` (its `reserve`) if given."""
        links = {"token": self.token, "reserve": self.currency}
        params = {name: getattr(self, name) for name in ("cap", "b", "mid", "supply")}
        return {"type": "bonding", "curve": "sigmoid", **params, **{k: x for k, x in links.items() if x is not None}}
