"""A power-law bonding curve: price = base + slope * supply^exponent, minted and burned against its integral.

With `exponent=1` it is the `linear` curve of `simcore.plugins.bonding` (price = a + b*s) and costs the same.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field

from simcore.components.base import Component


class BondingCurve(Component):
    """Power-law bonding curve: minting `x` tokens at supply `s` costs the area under the price from `s` to `s + x`;
    burning them refunds the same area, so the reserve always equals the area from 0 to the supply."""

    kind = "bonding_curve"
    version = 1
    kpis = ("price", "reserve", "market_cap")

    base: float = Field(0.0, ge=0.0, le=1e6, description="Price at zero supply, in reserve currency per token.")
    slope: float = Field(1e-3, ge=0.0, le=1e6, description="Coefficient of the power term of the price.")
    exponent: float = Field(1.0, ge=0.0, le=10.0, description="Power of the supply in the price (1 = linear).")
    supply: float = Field(0.0, ge=0.0, le=1e12, description="Tokens in circulation, the curve's current position.")

    def price_at(self, s: float) -> float:
        """The marginal price at supply `s`."""
        return self.base + self.slope * s**self.exponent

    def area(self, s: float) -> float:
        """The integral of the price from 0 to `s`: base*s + slope*s^(n+1)/(n+1)."""
        n1 = self.exponent + 1.0
        return self.base * s + self.slope * s**n1 / n1

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
            raise ValueError(f"bonding_curve.mint: amount must be >= 0, got {amount!r}")
        after = self.supply + amount
        return self.area(after) - self.reserve, self.model_copy(update={"supply": after})

    def burn(self, amount: float) -> tuple[float, Self]:
        """The refund for burning `amount` tokens (at most the supply), and the curve at the new supply."""
        if not 0 <= amount <= self.supply:
            raise ValueError(f"bonding_curve.burn: amount must be in [0, {self.supply}], got {amount!r}")
        after = self.supply - amount
        return self.reserve - self.area(after), self.model_copy(update={"supply": after})
