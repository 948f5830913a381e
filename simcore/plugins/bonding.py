"""The bonding plugin: a token minted and burned against a reserve along a price curve.

Buying `x` tokens at supply `s` costs the area under the curve from `s` to `s + x`; selling pays the area
back from the reserve. The reserve is always the area from 0 to the current supply, computed from the supply
alone (the conservation invariant, exact by construction): a trade pays the difference of two such areas, so
no sequence of trades that returns to a supply gains or loses anything by rounding. Curves: `linear`
(price = a + b*s), `exponential` (price = a*exp(b*s)) and `sigmoid` (price = cap / (1 + exp(-b*(s - mid)))).
As a slot market (`BondingMarket`) the curve holds its reserve and minus the supply it has minted: a buy mints
tokens out of it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import PluginError, ScenarioError
from simcore.exact import difference_above
from simcore.markets import Action, Market, Quote, RefusedError, Reserves
from simcore.plugins.base import Plugin, PluginSpec, check_amount, state_var
from simcore.plugins.token import Token, linked_token
from simcore.variables import Variable


@dataclass(frozen=True)
class Curve:
    """A non-decreasing price curve; `RULES` maps each parameter to its range, checked on construction."""

    RULES: ClassVar[dict[str, str]]  # parameter -> ">= 0", "> 0" or "any"
    name: ClassVar[str]

    def __post_init__(self) -> None:
        for param, rule in self.RULES.items():
            value = getattr(self, param)
            if not is_number(value):
                raise PluginError(f"{self.name} curve option {param!r} must be a finite number, got {value!r}")
            if (rule == "> 0" and value <= 0) or (rule == ">= 0" and value < 0):
                raise PluginError(f"{self.name} curve option {param!r} must be {rule}, got {value!r}")

    def price(self, s: float) -> float:
        """The price at supply `s`."""
        raise NotImplementedError

    def integral(self, lo: float, hi: float) -> float:
        """The area under the price from `lo` to `hi` (negative when `hi < lo`)."""
        raise NotImplementedError

    def tokens_for(self, s: float, amount: float) -> float:
        """The `x` whose cost from supply `s` is `amount`: `integral(s, s + x) == amount`."""
        raise NotImplementedError


@dataclass(frozen=True)
class Linear(Curve):
    """price = a + b*s; `spend` has a closed form (a quadratic's root)."""

    a: float
    b: float
    RULES: ClassVar[dict[str, str]] = {"a": ">= 0", "b": ">= 0"}
    name: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.a == 0 and self.b == 0:
            raise PluginError("linear curve needs option 'a' > 0 or option 'b' > 0 (the price would be 0 everywhere)")

    def price(self, s: float) -> float:
        return self.a + self.b * s

    def integral(self, lo: float, hi: float) -> float:
        return (hi - lo) * (self.a + self.b * (lo + hi) / 2)

    def tokens_for(self, s: float, amount: float) -> float:
        # the positive root of b/2 x^2 + p x - amount = 0, written so that b = 0 and a = 0 both stay exact
        p = self.price(s)
        return 2 * amount / (p + math.sqrt(p * p + 2 * self.b * amount))


@dataclass(frozen=True)
class Exponential(Curve):
    """price = a*exp(b*s); `spend` has a closed form (a logarithm)."""

    a: float
    b: float
    RULES: ClassVar[dict[str, str]] = {"a": "> 0", "b": ">= 0"}
    name: ClassVar[str] = "exponential"

    def price(self, s: float) -> float:
        return self.a * math.exp(self.b * s)

    def integral(self, lo: float, hi: float) -> float:
        if self.b == 0:
            return self.a * (hi - lo)
        return self.price(lo) * math.expm1(self.b * (hi - lo)) / self.b

    def tokens_for(self, s: float, amount: float) -> float:
        p = self.price(s)
        return amount / p if self.b == 0 else math.log1p(amount * self.b / p) / self.b


@dataclass(frozen=True)
class Sigmoid(Curve):
    """price = cap / (1 + exp(-b*(s - mid))): rises from about 0 to `cap`, half-way at `mid`; `spend` finds a root."""

    cap: float
    b: float
    mid: float
    RULES: ClassVar[dict[str, str]] = {"cap": "> 0", "b": "> 0", "mid": "any"}
    name: ClassVar[str] = "sigmoid"

    def price(self, s: float) -> float:
        z = self.b * (s - self.mid)
        return self.cap / (1 + math.exp(-z)) if z >= 0 else self.cap * math.exp(z) / (1 + math.exp(z))

    def integral(self, lo: float, hi: float) -> float:
        # ∫ cap * sigmoid(b(s - mid)) ds = cap/b * softplus(b(s - mid)), softplus(z) = log(1 + e^z)
        return self.cap / self.b * (_softplus(self.b * (hi - self.mid)) - _softplus(self.b * (lo - self.mid)))

    def tokens_for(self, s: float, amount: float) -> float:
        from scipy.optimize import brentq

        # the price stays below cap, so at least amount/cap tokens; double the upper end until it costs enough
        def excess(x: float) -> float:
            return self.integral(s, s + x) - amount

        lo = amount / self.cap
        if excess(lo) >= 0:  # a steep curve near its cap: the rounded area already costs enough
            return lo
        hi = 2 * lo
        while excess(hi) < 0:
            lo, hi = hi, 2 * hi
        return brentq(excess, lo, hi, xtol=lo * 1e-15)


def _softplus(z: float) -> float:
    """log(1 + e^z) without overflow for large |z|."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


CURVES: dict[str, type[Curve]] = {c.name: c for c in (Linear, Exponential, Sigmoid)}


class Bonding(Plugin):
    """State `v`: `supply`, `price` (at the supply), `reserve` (the area up to the supply) and `mc` (supply * price).

    With a linked token, buys mint and sells burn the same amount of its supply.
    """

    def __init__(self, key: str, curve: Curve, supply: float, token: Token | None = None) -> None:
        super().__init__(key)
        if not is_number(supply) or supply < 0:
            raise PluginError(f"{key}: initial supply must be a finite number >= 0, got {supply!r}")
        self.curve, self.token = curve, token
        self.v = _state(*self.at(supply, f"{key}: initial supply"))  # the reserve starts as the area up to supply

    @property
    def price(self) -> float:
        """The current price: what the next token costs at the margin."""
        return self.v["price"]

    def at(self, supply: float, what: str) -> tuple[float, float, float]:
        """The state at `supply`: the supply, the reserve there (the area from 0) and the price; PluginError on an
        overflow. Nothing changes."""
        try:
            reserve, price = self.curve.integral(0.0, supply), self.curve.price(supply)
        except OverflowError:
            reserve = price = math.inf
        if not (math.isfinite(reserve) and math.isfinite(price)):
            raise PluginError(f"{what}: the {self.curve.name} curve overflows at a supply of {supply!r}")
        return supply, reserve, price

    def settle(self, supply: float, reserve: float, price: float) -> None:
        """Move to a quoted state; a linked token's supply follows (it mints or burns the difference)."""
        if self.token is not None:
            change = supply - self.v["supply"]
            if change > 0:
                self.token.mint(change)
            elif change < 0:
                self.token.burn(-change)
        self.v.update(_state(supply, reserve, price))

    def cost(self, tokens: float) -> float:
        """What buying `tokens` would cost now, without buying."""
        what = f"{self.key}.cost"
        _, reserve, _ = self.at(self.v["supply"] + check_amount(tokens, what), what)
        return reserve - self.v["reserve"]

    def buy(self, tokens: float) -> float:
        """Mint `tokens`; returns the cost, added to the reserve."""
        what = f"{self.key}.buy"
        quote = self.at(self.v["supply"] + check_amount(tokens, what), what)
        cost = quote[1] - self.v["reserve"]
        self.settle(*quote)
        return cost

    def sell(self, tokens: float) -> float:
        """Burn `tokens` (at most the supply); returns the proceeds, paid from the reserve.

        Selling the whole supply pays out the whole reserve (the area from 0 to 0 is 0).
        """
        what = f"{self.key}.sell"
        supply = self.v["supply"]
        if check_amount(tokens, what) > supply:
            raise PluginError(f"{what}: cannot sell {tokens} tokens, the supply is {supply}")
        quote = self.at(supply - tokens, what)
        proceeds = self.v["reserve"] - quote[1]
        self.settle(*quote)
        return proceeds

    def spend(self, amount: float) -> float:
        """Buy as many tokens as `amount` of the reserve currency pays for; returns the tokens.

        The reserve grows by the curve's cost of those tokens, which equals `amount` up to float rounding.
        """
        what = f"{self.key}.spend"
        tokens = self.curve.tokens_for(self.v["supply"], check_amount(amount, what))
        if not tokens > 0:
            raise PluginError(f"{what}: {amount} buys no token at a price of {self.price}")
        self.buy(tokens)
        return tokens


def _moved(supply: float, amount: float, up: bool) -> float:
    """The supply `amount` up (a buy) or down (a sale), moved back a float towards `supply` when the rounding
    carried it further than `amount` (checked exactly)."""
    moved = supply + amount if up else supply - amount
    if difference_above(max(moved, supply), min(moved, supply), amount):
        moved = math.nextafter(moved, supply)
    return moved


def _state(supply: float, reserve: float, price: float) -> dict[str, float]:
    return {"supply": supply, "reserve": reserve, "price": price, "mc": supply * price}


class BondingMarket(Market):
    """A bonding curve as a slot market: it holds its reserve and minus the supply it has minted, so a buy gives
    tokens out of it (minting them) and takes the reserve currency in, as a pool would. A trade is the curve's own
    (`Bonding`): it pays the difference of the areas from 0 at the two supplies."""

    plugin: Bonding
    actions: ClassVar[Mapping[str, Action]] = {
        "buy": Action(
            ("amount",), "mint `amount` {a} from the curve, paying {b} from your wallet; returns the {b} paid."
        ),
        "sell": Action(("amount",), "burn `amount` {a} of yours into the curve for {b}; returns the {b} received."),
        "spend": Action(("amount",), "spend `amount` {b} of yours on {a} from the curve; returns the {a} minted."),
    }
    summary = (
        "a bonding curve minting {a} against a {b} reserve. Its state `v`: `supply` (the {a} minted), `price` (the "
        "{b} price of the next {a} at that supply), `reserve` (the {b} it holds: the area under the price from 0 to "
        "the supply) and `mc` (supply * price). Buying x {a} costs the area under the price from supply to "
        "supply + x, so every buy raises the price and every sell lowers it; selling pays the same area back."
    )

    @classmethod
    def tickers_of(cls, spec: PluginSpec, plugins: Mapping[str, PluginSpec]) -> tuple[str, str]:
        link, reserve = spec.options.get("token"), spec.options.get("reserve")
        if link not in plugins or "reserve" not in spec.options:
            raise ScenarioError(
                "slot: a bonding curve trades as a market only with a `token` (the key of its token plugin) and a "
                f"`reserve` (its currency's ticker); got token={link!r}, reserve={reserve!r}"
            )
        return str(plugins[link].option("ticker")).upper(), str(reserve).upper()

    def reserves(self) -> Reserves:
        v = self.plugin.v
        return -v["supply"], v["reserve"]

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        """The curve's trade, except that it never mints more than asked, burns more than it is given nor takes
        more than a spend gives (so the whole balance a player is shown always sells or spends, and a buy and a
        sale of the same amount return the supply they started from): a supply the rounding carries past the
        amount is moved back a float towards the start."""
        bond, v, amount = self.plugin, self.plugin.v, args[0]
        supply, reserve = v["supply"], v["reserve"]
        if action == "sell" and amount > supply:
            raise RefusedError("it sells more than the supply")
        what = f"{bond.key}.{action}"
        try:
            if action == "spend":
                state = self._spend(supply, reserve, amount, what)
            else:
                state = bond.at(_moved(supply, amount, up=action == "buy"), what)
        except (PluginError, ArithmeticError, ValueError):  # an overflow, or a root the solver cannot find
            raise RefusedError("the curve cannot fill it") from None
        if bond.token is not None and state[0] < supply and bond.token.v["ts"] < supply - state[0]:
            raise RefusedError("it burns more than the token's supply")
        new_supply, new_reserve, _ = state
        result = {"buy": new_reserve - reserve, "sell": reserve - new_reserve}.get(action, new_supply - supply)
        return Quote((-new_supply, new_reserve), state, result)

    def _spend(self, supply: float, reserve: float, amount: float, what: str) -> tuple[float, float, float]:
        """The state after spending `amount`: the tokens it buys, fewer by a hair while the rounded areas would
        cost more than `amount` (shrinking geometrically, so it ends within 53 steps: at worst at no token)."""
        curve = self.plugin
        tokens, shrink = curve.curve.tokens_for(supply, amount), 2.0**-52
        state = curve.at(supply + tokens, what)
        while tokens > 0 and difference_above(state[1], reserve, amount):
            tokens = tokens * (1 - shrink) if shrink < 1 else 0.0
            shrink *= 2
            state = curve.at(supply + tokens, what)
        return state

    def commit(self, quote: Quote) -> None:
        self.plugin.settle(*quote.state)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        if (ticker, quote) != self.tickers:
            return None
        try:
            return self.quote("sell", (min(amount, self.plugin.v["supply"]),)).result if amount > 0 else 0.0
        except RefusedError:
            return 0.0

    def audit(self) -> str | None:
        v = self.plugin.v
        area = self.plugin.curve.integral(0.0, v["supply"])
        return None if v["reserve"] == area else f"the reserve is {v['reserve']!r}, the area up to the supply {area!r}"

    @classmethod
    def units(cls, action: str, tickers: tuple[str, str]) -> tuple[str, str | None]:
        a, b = tickers
        return (b, a) if action == "spend" else (a, b)

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, str]) -> list[dict[str, str]]:
        a, b = tickers
        return [
            {"label": f"{key} {a} supply", "key": f"{key}.supply"},
            {"label": f"{key} {b}", "key": f"{key}.reserve"},
        ]


class BondingSpec(PluginSpec):
    """Options: `curve` (linear | exponential | sigmoid) and its parameters (`a`, `b`; sigmoid: `cap`, `b`, `mid`),
    optional `supply` (initial, default 0), `token` (key of an earlier token plugin whose supply follows the
    curve's) and `reserve` (the reserve currency's ticker, for display)."""

    kind = "bonding"
    market = BondingMarket

    def _curve_type(self) -> type[Curve]:
        name = self.option("curve")
        if name not in CURVES:
            raise PluginError(f"bonding option 'curve' must be one of {', '.join(CURVES)}, got {name!r}")
        return CURVES[name]

    def _curve(self, key: str, get: Callable[[str], Any]) -> Curve:
        """The curve with its parameters read through `get` (the variable getter, or `v.__getitem__`)."""
        curve = self._curve_type()
        return curve(**{param: get(f"{key}_{param}") for param in curve.RULES})

    def variables(self, key: str) -> dict[str, Variable]:
        reserve = {"type": self.option("reserve")} if "reserve" in self.options else {}
        initial = f"{key}_is"
        params = {f"{key}_{p}": Variable(f"Bonding Curve {p}", self.option(p)) for p in self._curve_type().RULES}
        return {
            **params,
            initial: Variable("Bonding Initial Supply", self.option("supply", 0)),
            f"{key}_ir": Variable(
                "Bonding Initial Reserve", lambda g: self._curve(key, g).integral(0, g(initial)), display=reserve
            ),
            f"{key}_s": state_var(key, "supply", "Bonding Supply"),
            f"{key}_p": state_var(key, "price", "Bonding Price", **reserve),
            f"{key}_r": state_var(key, "reserve", "Bonding Reserve", **reserve),
            f"{key}_mc": state_var(key, "mc", "Bonding Market Cap", **reserve),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Bonding:
        token = linked_token(self.kind, self.options["token"], plugins) if "token" in self.options else None
        return Bonding(key, self._curve(key, v.__getitem__), v[f"{key}_is"], token)
