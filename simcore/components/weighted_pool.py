"""A Balancer-style weighted pool of two tokens: invariant B_in^W_in * B_out^W_out, a swap fee on what goes in."""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, model_validator

from simcore.components.base import Component


class WeightedPool(Component):
    """Two-token weighted constant-product pool (Balancer's formulas): trading `a` of the in-token pays
    B_out * (1 - (B_in / (B_in + a*(1 - fee)))^(W_in/W_out)); the fee stays in the pool. Equal weights and no fee
    give the constant product x*y = k (Uniswap v2, `simcore.plugins.dex`)."""

    kind = "weighted_pool"
    version = 1
    kpis = ("spot_price", "invariant")

    balance_in: float = Field(
        1e6, gt=0.0, le=1e15, description="Pool balance of the token traded in.", json_schema_extra={"unit": "tokens"}
    )
    balance_out: float = Field(
        1e6, gt=0.0, le=1e15, description="Pool balance of the token traded out.", json_schema_extra={"unit": "tokens"}
    )
    weight_in: float = Field(0.5, ge=0.01, le=0.99, description="Normalised weight of the in-token.")
    weight_out: float = Field(0.5, ge=0.01, le=0.99, description="Normalised weight of the out-token.")
    swap_fee: float = Field(0.003, ge=0.0, le=0.1, description="Share of the amount in kept by the pool as a fee.")

    @model_validator(mode="after")
    def _weights_normalised(self) -> Self:
        if self.weight_in + self.weight_out > 1.0 + 1e-12:
            raise ValueError(f"weight_in + weight_out must be <= 1, got {self.weight_in + self.weight_out}")
        return self

    @property
    def spot_price(self) -> float:
        """In-tokens paid per out-token at the margin, fee included: (B_in/W_in) / (B_out/W_out) / (1 - fee)."""
        ratio = (self.balance_in / self.weight_in) / (self.balance_out / self.weight_out)
        return ratio / (1.0 - self.swap_fee)

    @property
    def invariant(self) -> float:
        """B_in^W_in * B_out^W_out: constant in a fee-less swap, growing with fees."""
        return self.balance_in**self.weight_in * self.balance_out**self.weight_out

    def out_given_in(self, amount_in: float) -> float:
        """Out-tokens paid for `amount_in` in-tokens."""
        if not amount_in >= 0:
            raise ValueError(f"weighted_pool.out_given_in: amount must be >= 0, got {amount_in!r}")
        after = self.balance_in + amount_in * (1.0 - self.swap_fee)
        return self.balance_out * -_powm1(self.balance_in / after, self.weight_in / self.weight_out)

    def in_given_out(self, amount_out: float) -> float:
        """In-tokens needed to take `amount_out` out-tokens (less than the out balance)."""
        if not 0 <= amount_out < self.balance_out:
            raise ValueError(f"weighted_pool.in_given_out: amount must be in [0, {self.balance_out}), got {amount_out}")
        ratio = self.balance_out / (self.balance_out - amount_out)
        return self.balance_in * _powm1(ratio, self.weight_out / self.weight_in) / (1.0 - self.swap_fee)

    def swap(self, amount_in: float) -> tuple[float, Self]:
        """The out-tokens paid for `amount_in`, and the pool after (all of `amount_in`, fee included, goes in)."""
        out = self.out_given_in(amount_in)
        update = {"balance_in": self.balance_in + amount_in, "balance_out": self.balance_out - out}
        return out, self.model_copy(update=update)


def _powm1(x: float, y: float) -> float:
    """x**y - 1, accurate when x**y is close to 1."""
    return math.expm1(y * math.log(x))
