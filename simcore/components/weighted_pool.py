"""A Balancer V1 weighted pool of two tokens and its pool shares, as a typed component that runs as the
`weighted_pool` plugin.

Its maths is Balancer V1's `BMath` in floats, which lives beside the plugin (`simcore.plugins.weighted`, part of
this component's hash) so that the simulator's runtime imports no pydantic: spot price, swaps (out given in, in
given out), single-asset joins and exits both ways, and `BPool`'s limits (at most half of a balance in, a third
out).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from simcore.components.base import Component
from simcore.plugins import weighted
from simcore.plugins.weighted import (
    INIT_POOL_SUPPLY,
    MAX_FEE,
    MAX_WEIGHT,
    MIN_BALANCE,
    MIN_WEIGHT,
    calc_in_given_out,
    calc_out_given_in,
    calc_pool_in_given_single_out,
    calc_pool_out_given_single_in,
    calc_single_in_given_pool_out,
    calc_single_out_given_pool_in,
    calc_spot_price,
    max_in,
    max_out,
    normalised,
)

_TOKENS = {"unit": "tokens"}


class WeightedPool(Component):
    """Balancer V1 weighted pool of two tokens, A and B, owned in pool shares (Balancer's `BMath`, in floats; Ocean
    Market V3's pools). The weights are normalised: A's is `weight_a`, B's 1 - weight_a (Balancer's denormalised
    weights 1..50 with a total of at most 50 allow 0.02..0.98). Selling `x` of A pays
    bb * (1 - (ba / (ba + x * (1 - fee)))^(wa / wb)) of B; joining with `x` of A alone mints
    supply * ((1 + x * (1 - (1 - wa) * fee) / ba)^wa - 1) shares (the fee is charged on the part of `x` not matching
    A's weight); exiting burns shares the same way back (Balancer V1's exit fee is 0). The fee stays in the pool, so
    the invariant ba^wa * bb^wb grows; a trade puts at most half of a balance in and takes at most a third of one out.
    Equal weights give the constant product (`simcore.plugins.dex`). A scenario runs it as the `weighted_pool`
    plugin: its numeric parameters are that plugin's variables (`KEY_TICKER_ib`, `KEY_TICKER_iw`, `KEY_fee`,
    `KEY_is`)."""

    kind = "weighted_pool"
    version = 2
    kpis = ("spot_price", "spot_price_sans_fee", "invariant", "invariant_per_share")
    depends_on = (weighted,)

    token_a: str = Field("TKN", min_length=1, description="Ticker of token A.")
    token_b: str = Field("USDC", min_length=1, description="Ticker of token B.")
    balance_a: float = Field(
        1e6, ge=MIN_BALANCE, le=1e15, description="Pool balance of token A.", json_schema_extra=_TOKENS
    )
    balance_b: float = Field(
        1e6, ge=MIN_BALANCE, le=1e15, description="Pool balance of token B.", json_schema_extra=_TOKENS
    )
    weight_a: float = Field(
        0.5, ge=MIN_WEIGHT, le=MAX_WEIGHT, description="Normalised weight of token A; B's is 1 - weight_a."
    )
    swap_fee: float = Field(
        0.003, ge=0.0, le=MAX_FEE, description="Share of what a swap puts in that the pool keeps (Balancer's max: 0.1)."
    )
    supply: float = Field(
        INIT_POOL_SUPPLY,
        gt=0.0,
        le=1e15,
        description="Pool shares in existence (Balancer mints 100 for a new pool).",
        json_schema_extra={"unit": "shares"},
    )
    shares: str = Field("BPT", min_length=1, description="Ticker of the pool share.")
    owner: str = Field("creator", min_length=1, description="Who holds the initial shares (a background player).")

    @model_validator(mode="after")
    def _three_tickers(self) -> Self:
        tickers = {self.token_a.upper(), self.token_b.upper(), self.shares.upper()}
        if len(tickers) < 3:
            raise ValueError(f"token_a, token_b and shares must be three tickers, got {tickers}")
        return self

    # --- the pool's numbers

    @property
    def weights(self) -> tuple[float, float]:
        """(wa, wb): A's weight and B's, 1 - wa, summing to 1 exactly (as the plugin holds them)."""
        return normalised(self.weight_a)

    @property
    def spot_price(self) -> float:
        """B paid per A bought at the margin, the fee included (Balancer's `calcSpotPrice` with B in, A out)."""
        wa, wb = self.weights
        return calc_spot_price(self.balance_b, wb, self.balance_a, wa, self.swap_fee)

    @property
    def spot_price_sans_fee(self) -> float:
        """The price of A in B without the fee: (bb / wb) / (ba / wa), the plugin's `pa`."""
        wa, wb = self.weights
        return calc_spot_price(self.balance_b, wb, self.balance_a, wa, 0.0)

    @property
    def invariant(self) -> float:
        """ba^wa * bb^wb: constant in a fee-less swap, growing with fees."""
        wa, wb = self.weights
        return self.balance_a**wa * self.balance_b**wb

    @property
    def invariant_per_share(self) -> float:
        """The invariant over the share supply: what one share owns; no trade lowers it."""
        return self.invariant / self.supply

    def _side(self, token: str) -> str:
        """ "A" or "B" for a side or a ticker (any case)."""
        name = token.upper()
        if name in ("A", self.token_a.upper()):
            return "A"
        if name in ("B", self.token_b.upper()):
            return "B"
        raise ValueError(f"weighted_pool: trades {self.token_a} (A) and {self.token_b} (B), not {token!r}")

    def _sides(self, token: str) -> tuple[float, float, float, float]:
        """(balance, weight) of `token`, then the other token's."""
        wa, wb = self.weights
        a, b = (self.balance_a, wa), (self.balance_b, wb)
        return (*a, *b) if self._side(token) == "A" else (*b, *a)

    # --- Balancer's BMath on this pool (no limits: `swap`, `join` and `exit` apply them)

    def out_given_in(self, token_in: str, amount_in: float) -> float:
        """The other token paid for `amount_in` of `token_in` (`calcOutGivenIn`)."""
        b_in, w_in, b_out, w_out = self._sides(token_in)
        return calc_out_given_in(b_in, w_in, b_out, w_out, _amount(amount_in), self.swap_fee)

    def in_given_out(self, token_out: str, amount_out: float) -> float:
        """The other token needed to take `amount_out` of `token_out` (`calcInGivenOut`; less than its balance)."""
        b_out, w_out, b_in, w_in = self._sides(token_out)
        if not _amount(amount_out) < b_out:
            raise ValueError(f"weighted_pool.in_given_out: amount must be below the balance {b_out}, got {amount_out}")
        return calc_in_given_out(b_in, w_in, b_out, w_out, amount_out, self.swap_fee)

    def pool_out_given_single_in(self, token_in: str, amount_in: float) -> float:
        """Shares minted for `amount_in` of `token_in` alone (`calcPoolOutGivenSingleIn`)."""
        b_in, w_in, *_ = self._sides(token_in)
        return calc_pool_out_given_single_in(b_in, w_in, self.supply, 1.0, _amount(amount_in), self.swap_fee)

    def single_in_given_pool_out(self, token_in: str, shares: float) -> float:
        """`token_in` needed to mint `shares` (`calcSingleInGivenPoolOut`)."""
        b_in, w_in, *_ = self._sides(token_in)
        return calc_single_in_given_pool_out(b_in, w_in, self.supply, 1.0, _amount(shares), self.swap_fee)

    def single_out_given_pool_in(self, token_out: str, shares: float) -> float:
        """`token_out` paid for burning `shares` (`calcSingleOutGivenPoolIn`; at most the supply)."""
        b_out, w_out, *_ = self._sides(token_out)
        if not _amount(shares) <= self.supply:
            raise ValueError(f"weighted_pool: cannot burn {shares} shares of a supply of {self.supply}")
        return calc_single_out_given_pool_in(b_out, w_out, self.supply, 1.0, shares, self.swap_fee)

    def pool_in_given_single_out(self, token_out: str, amount_out: float) -> float:
        """Shares burned to take `amount_out` of `token_out` (`calcPoolInGivenSingleOut`)."""
        b_out, w_out, *_ = self._sides(token_out)
        return calc_pool_in_given_single_out(b_out, w_out, self.supply, 1.0, _amount(amount_out), self.swap_fee)

    # --- trades within Balancer's limits: what they pay, and the pool after

    def swap(self, token_in: str, amount_in: float) -> tuple[float, Self]:
        """Sell `amount_in` of `token_in` (at most half its balance): the other token paid, and the pool after (all
        of `amount_in`, its fee included, goes in)."""
        b_in, *_ = self._sides(token_in)
        _limit(amount_in, max_in(b_in), "swap", "half of the balance in")
        out = self.out_given_in(token_in, amount_in)
        return out, self._moved(token_in, amount_in, -out, 0.0)

    def join(self, token_in: str, amount_in: float) -> tuple[float, Self]:
        """Join with `amount_in` of `token_in` alone (at most half its balance): the shares minted, and the pool."""
        b_in, *_ = self._sides(token_in)
        _limit(amount_in, max_in(b_in), "join", "half of the balance in")
        minted = self.pool_out_given_single_in(token_in, amount_in)
        return minted, self._moved(token_in, amount_in, 0.0, minted)

    def exit(self, token_out: str, shares: float) -> tuple[float, Self]:
        """Exit `shares` into `token_out` alone (paying at most a third of its balance): the token paid, and the
        pool after."""
        b_out, *_ = self._sides(token_out)
        out = self.single_out_given_pool_in(token_out, shares)
        _limit(out, max_out(b_out), "exit", "a third of the balance out")
        return out, self._moved(token_out, -out, 0.0, -shares)

    def _moved(self, token: str, named: float, other: float, shares: float) -> Self:
        """This pool with `named` added to `token`'s balance, `other` to the other's and `shares` to the supply."""
        da, db = (named, other) if self._side(token) == "A" else (other, named)
        update = {"balance_a": self.balance_a + da, "balance_b": self.balance_b + db, "supply": self.supply + shares}
        return self.model_copy(update=update)

    def plugin(self, key: str) -> dict[str, Any]:
        """The `weighted_pool` plugin with these parameters as its options."""
        return {
            "type": "weighted_pool",
            "tokenA": self.token_a,
            "tokenB": self.token_b,
            "balanceA": self.balance_a,
            "balanceB": self.balance_b,
            "weightA": self.weight_a,
            "fee": self.swap_fee,
            "shares": self.shares,
            "supply": self.supply,
            "owner": self.owner,
        }

    def variable_key(self, key: str, param: str) -> str:
        """The plugin's name for a parameter's variable: `KEY_TICKER_ib` (initial balances), `KEY_TICKER_iw` (A's
        weight), `KEY_fee` and `KEY_is` (the initial supply), tickers in lower case."""
        a, b = self.token_a.lower(), self.token_b.lower()
        names = {
            "balance_a": f"{a}_ib",
            "balance_b": f"{b}_ib",
            "weight_a": f"{a}_iw",
            "swap_fee": "fee",
            "supply": "is",
        }
        return f"{key}_{names.get(param, param)}"


def _amount(amount: float) -> float:
    if not amount >= 0:
        raise ValueError(f"weighted_pool: an amount must be >= 0, got {amount!r}")
    return amount


def _limit(amount: float, limit: float, what: str, rule: str) -> None:
    if amount > limit:
        raise ValueError(f"weighted_pool.{what}: Balancer's limit is {rule} ({limit!r}), got {amount!r}")
