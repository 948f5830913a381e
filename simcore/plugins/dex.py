"""The dex plugin: AI3's constant-product pool, with an optional fee and refusals AI3 lacks.

`buyA(x)` takes `x` of token A out of the pool and returns the B paid in; `sellA(x)` puts `x` of A in
and returns minus the B paid out (AI3's signs). With no fee the arithmetic is AI3's, step for step,
so `k` stays exact. A fee is charged on what goes in and stays in the pool, so `k` grows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import PluginError
from simcore.exact import difference_above, least_cofactor, product_below
from simcore.markets import Action, Market, Quote, RefusedError, Reserves
from simcore.plugins.base import Plugin, PluginSpec, check_amount, state_var
from simcore.variables import Variable


class Dex(Plugin):
    """State `v`: liquidity `la`, `lb`; `k`; prices `pa` (of A in B) and `pb` (of B in A)."""

    def __init__(self, key: str, a: str, b: str, la: float, lb: float, fee: float) -> None:
        super().__init__(key)
        for side, amount in ((a, la), (b, lb)):
            check_amount(amount, f"{key}: initial {side} liquidity")
        if not is_number(fee) or not 0 <= fee < 1:
            raise PluginError(f"{key}: fee must be a number in [0, 1), got {fee!r}")
        self.a, self.b, self.fee = a, b, fee
        self.v = {"la": la, "lb": lb, "k": la * lb, "pa": lb / la, "pb": la / lb}

    def _reprice(self) -> None:
        v = self.v
        v["pa"] = v["lb"] / v["la"]
        v["pb"] = v["la"] / v["lb"]

    def _buy(self, out: str, into: str, amount: float, what: str) -> float:
        v = self.v
        check_amount(amount, what)
        if amount >= v[out]:
            raise PluginError(f"{what}: buying {amount} would drain the pool's {v[out]}")
        left = v[out] - amount
        curve = v["k"] / left
        paid = (curve - v[into]) / (1 - self.fee)
        v[out] = left
        if self.fee:
            v[into] += paid
            v["k"] = v[out] * v[into]
        else:
            v[into] = curve
        self._reprice()
        return paid

    def _sell(self, into: str, out: str, amount: float, what: str) -> float:
        v = self.v
        check_amount(amount, what)
        curve = v["k"] / (v[into] + amount * (1 - self.fee))
        received = curve - v[out]
        v[into] += amount
        v[out] = curve
        if self.fee:
            v["k"] = v[into] * v[out]
        self._reprice()
        return received

    def quote(self, action: str, amount: float) -> tuple[float, float, float]:
        """The pool's `la`, `lb` and `k` after `action(amount)`, computed on values (nothing changes), for a
        trader who must get nothing from rounding: AI3's arithmetic on the curve through the pool's present
        reserves, except that the pool never takes in more than it is given nor gives out more than asked, and
        its product `la * lb` never falls (the side the action does not name is rounded in the pool's favour).
        A PluginError if the pool refuses.
        """
        if not is_number(amount) or amount <= 0:
            check_amount(amount, f"{self.key}.{action}")  # raises, naming the action
        v = self.v
        on_a = action[-1] == "A"
        old_a, old_b = v["la"], v["lb"]
        named, other = (old_a, old_b) if on_a else (old_b, old_a)  # the side the action names, and the other
        curve = old_a * old_b  # the constant product through the present reserves, rounded
        keep = 1 - self.fee
        if action.startswith("buy"):  # `named` goes out
            if amount >= named:
                raise PluginError(f"{self.key}.{action}: buying {amount} would drain the pool's {named}")
            new_named = named - amount
            if _above(named, new_named, amount):  # rounded down: it would give out more than asked
                new_named = math.nextafter(new_named, math.inf)
            new_other = other + (curve / new_named - other) / keep if self.fee else curve / new_named
        else:  # `named` comes in
            new_named = named + amount
            if _above(new_named, named, amount):  # rounded up: it would take in more than it is given
                new_named = math.nextafter(new_named, -math.inf)
            new_other = curve / (named + (new_named - named) * keep) if self.fee else curve / new_named
        if not self.fee:
            # new_other = fl(curve / new_named) with curve = fl(named * other): two roundings of at most half an
            # ulp each, so new_named * new_other >= named * other * (1 - 2**-53)**2, and three ulps up more than
            # make up for them (each is at least 2**-53 of new_other): the product cannot fall.
            for _ in range(3):
                new_other = math.nextafter(new_other, math.inf)
        elif new_named * new_other <= curve * (1 + 2**-50) and product_below(new_named, new_other, named, other):
            # with a fee the product grows by about the fee's share of the trade: checked exactly only when a
            # trade is too small for the float products to show it
            new_other = least_cofactor(new_named, named, other)
        new_a, new_b = (new_named, new_other) if on_a else (new_other, new_named)
        return new_a, new_b, new_a * new_b if self.fee else v["k"]

    def commit(self, la: float, lb: float, k: float) -> None:
        """Set the pool to a state `quote` gave."""
        v = self.v
        v["la"], v["lb"], v["k"] = la, lb, k
        self._reprice()

    def buyA(self, amount: float) -> float:  # noqa: N802 - AI3's name
        """Take `amount` of A from the pool; returns the B paid in."""
        return self._buy("la", "lb", amount, f"{self.key}.buyA")

    def buyB(self, amount: float) -> float:  # noqa: N802 - AI3's name
        """Take `amount` of B from the pool; returns the A paid in."""
        return self._buy("lb", "la", amount, f"{self.key}.buyB")

    def sellA(self, amount: float) -> float:  # noqa: N802 - AI3's name
        """Put `amount` of A into the pool; returns minus the B paid out."""
        return self._sell("la", "lb", amount, f"{self.key}.sellA")

    def sellB(self, amount: float) -> float:  # noqa: N802 - AI3's name
        """Put `amount` of B into the pool; returns minus the A paid out."""
        return self._sell("lb", "la", amount, f"{self.key}.sellB")

    def side_of(self, token: str) -> str:
        """`"A"` or `"B"` for a side name or a ticker (any case); a PluginError if the pool does not trade it."""
        name = str(token).upper()
        for side, ticker in (("A", self.a), ("B", self.b)):
            if name in (side, ticker):
                return side
        raise PluginError(f"{self.key}: trades {self.a} (A) and {self.b} (B), not {token!r}")

    def _lanes(self, token: str) -> tuple[str, str, str]:
        """The side of `token` and the liquidity fields a sale of it goes into and comes out of."""
        side = self.side_of(token)
        return (side, "la", "lb") if side == "A" else (side, "lb", "la")

    def sell(self, token: str, amount: float) -> float:
        """Put `amount` of `token` (a side or a ticker) into the pool; returns the other token received (positive)."""
        side, into, out = self._lanes(token)
        return -self._sell(into, out, amount, f"{self.key}.sell({side})")

    def max_sell(self, token: str, min_avg_price: float) -> float:
        """The largest amount of `token` whose sale pays on average at least `min_avg_price` (fee included), or 0.

        The average falls as the amount grows, so this is the root of `received(x) = min_avg_price * x`,
        nudged down if float rounding would leave the real trade a hair below the price.
        """
        _, into, out = self._lanes(token)
        if not is_number(min_avg_price) or min_avg_price <= 0:
            raise PluginError(f"{self.key}.max_sell: min_avg_price must be a positive number, got {min_avg_price!r}")
        v, keep = self.v, 1 - self.fee
        # (out - P x)(into + keep x) = k, the non-zero root of P keep x^2 + (P into - keep out) x + (k - into out) = 0
        qa, qb, qc = min_avg_price * keep, min_avg_price * v[into] - keep * v[out], v["k"] - v[into] * v[out]
        disc = qb * qb - 4 * qa * qc
        if qb >= 0 or disc <= 0:  # the first unit already pays less than the price
            return 0.0
        amount = (math.sqrt(disc) - qb) / (2 * qa)
        shrink = 2.0**-52
        while amount > 0 and v[out] - v["k"] / (v[into] + amount * keep) < min_avg_price * amount:
            amount *= 1 - shrink
            shrink *= 2
        return max(amount, 0.0)


class DexMarket(Market):
    """A constant-product pool as a slot market: it holds `la` of token A and `lb` of token B. A trade is the
    pool's fair quote (`Dex.quote`: no rounding in the trader's favour) and returns what AI3's action would."""

    plugin: Dex
    actions: ClassVar[Mapping[str, Action]] = {
        f"{side}{name}": Action(("amount",), doc.format(a=a, b=b))
        for name, a, b in (("A", "{a}", "{b}"), ("B", "{b}", "{a}"))
        for side, doc in (
            ("buy", "buy `amount` {a} from the pool, paying {b} from your wallet; returns the {b} paid."),
            ("sell", "sell `amount` {a} from your wallet to the pool for {b}; returns minus the {b} received."),
        )
    }
    summary = (
        "a constant-product pool trading {a} (token A) against {b} (token B). Its state `v`: `la` and `lb`, its {a} "
        "and {b} liquidity; `k` = la * lb; `pa`, the price of {a} in {b} (lb / la); `pb`, the price of {b} in {a}. "
        "Buying x {a} costs k / (la - x) - lb {b}, divided by (1 - fee) with the fee `v['{key}_fee']` taken on what "
        "goes in; every trade moves the price."
    )

    def reserves(self) -> Reserves:
        v = self.plugin.v
        return v["la"], v["lb"]

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        v = self.plugin.v
        try:
            state = self.plugin.quote(action, args[0])
        except PluginError:  # e.g. a buy that would drain the pool
            raise RefusedError("the pool cannot fill it") from None
        la, lb = state[0], state[1]
        result = lb - v["lb"] if action[-1] == "A" else la - v["la"]  # the other side's change: AI3's result
        return Quote((la, lb), state, result)

    def commit(self, quote: Quote) -> None:
        self.plugin.commit(*quote.state)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        dex = self.plugin
        side = {(dex.a, dex.b): "A", (dex.b, dex.a): "B"}.get((ticker, quote))
        if side is None or amount <= 0:
            return None if side is None else 0.0
        return -self.quote(f"sell{side}", (amount,)).result

    @classmethod
    def units(cls, action: str, tickers: tuple[str, str]) -> tuple[str, str | None]:
        a, b = tickers
        return (a, b) if action.endswith("A") else (b, a)

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, str]) -> list[dict[str, str]]:
        a, b = tickers
        return [{"label": f"{key} {a}", "key": f"{key}.la"}, {"label": f"{key} {b}", "key": f"{key}.lb"}]


class DexSpec(PluginSpec):
    """Options: `tokenA`, `tokenB`, `liquidityA`, `liquidityB`, optional `fee` (a fraction, default 0)."""

    kind = "dex"
    market = DexMarket

    def tickers(self) -> tuple[str, str]:
        """The pool's tickers as the live plugin names them (upper case): token A, token B."""
        return self.option("tokenA").upper(), self.option("tokenB").upper()

    def _names(self, key: str) -> tuple[str, str, str, str]:
        a, b = self.tickers()
        if a == b:
            raise PluginError(f"dex {key!r}: tokenA and tokenB are both {a}; a pool trades two different tokens")
        return a, b, f"{key}_{a.lower()}", f"{key}_{b.lower()}"

    def variables(self, key: str) -> dict[str, Variable]:
        a, b, ka, kb = self._names(key)
        ila, ilb = f"{ka}_il", f"{kb}_il"
        return {
            ila: Variable(f"DEX ${a} Initial Liquidity", self.option("liquidityA"), display={"type": a}),
            ilb: Variable(f"DEX ${b} Initial Liquidity", self.option("liquidityB"), display={"type": b}),
            f"{ka}_l": state_var(key, "la", f"DEX ${a} Liquidity", type=a),
            f"{kb}_l": state_var(key, "lb", f"DEX ${b} Liquidity", type=b),
            f"{key}_k": Variable("DEX K", lambda g: g(ila) * g(ilb), display={"calc": f"{ila} * {ilb}"}),
            f"{ka}_ip": Variable(f"DEX ${a} Initial Price", lambda g: g(ilb) / g(ila), display={"type": b}),
            f"{ka}_p": state_var(key, "pa", f"DEX ${a} Price", type=b),
            f"{kb}_ip": Variable(f"DEX ${b} Initial Price", lambda g: g(ila) / g(ilb), display={"type": a}),
            f"{kb}_p": state_var(key, "pb", f"DEX ${b} Price", type=a),
            f"{key}_fee": Variable("DEX Fee", self.option("fee", 0)),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Dex:
        a, b, ka, kb = self._names(key)
        return Dex(key, a, b, v[f"{ka}_il"], v[f"{kb}_il"], v[f"{key}_fee"])


def _above(bigger: float, smaller: float, amount: float) -> bool:
    """Whether bigger - smaller > amount exactly (a float subtraction is exact within a factor of two)."""
    if bigger <= 2 * smaller:
        return bigger - smaller > amount
    return difference_above(bigger, smaller, amount)
