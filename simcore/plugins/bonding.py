"""The bonding plugin: a token minted and burned against a reserve along a price curve.

Buying `x` tokens at supply `s` costs the area under the curve from `s` to `s + x`; selling pays the area
back from the reserve. The reserve starts at the area from 0 to the initial supply, so it always equals the
area up to the current supply (the conservation invariant). Curves: `linear` (price = a + b*s),
`exponential` (price = a*exp(b*s)) and `sigmoid` (price = cap / (1 + exp(-b*(s - mid)))).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import PluginError
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
        self.v = {"supply": 0.0, "reserve": 0.0}
        self._settle(*self._quote(supply, f"{key}: initial supply"))  # the reserve starts as the area up to supply

    @property
    def price(self) -> float:
        """The current price: what the next token costs at the margin."""
        return self.v["price"]

    def _quote(self, supply: float, what: str) -> tuple[float, float, float]:
        """The new supply, the reserve there (current reserve + area) and its price; PluginError on overflow."""
        try:
            area, price = self.curve.integral(self.v["supply"], supply), self.curve.price(supply)
        except OverflowError:
            area = price = math.inf
        if not (math.isfinite(area) and math.isfinite(price)):
            raise PluginError(f"{what}: the {self.curve.name} curve overflows at a supply of {supply!r}")
        return supply, self.v["reserve"] + area, price

    def _settle(self, supply: float, reserve: float, price: float) -> None:
        self.v.update(supply=supply, reserve=reserve, price=price, mc=supply * price)

    def cost(self, tokens: float) -> float:
        """What buying `tokens` would cost now, without buying."""
        what = f"{self.key}.cost"
        _, reserve, _ = self._quote(self.v["supply"] + check_amount(tokens, what), what)
        return reserve - self.v["reserve"]

    def buy(self, tokens: float) -> float:
        """Mint `tokens`; returns the cost, added to the reserve."""
        what = f"{self.key}.buy"
        quote = self._quote(self.v["supply"] + check_amount(tokens, what), what)
        if self.token is not None:
            self.token.mint(tokens)
        cost = quote[1] - self.v["reserve"]
        self._settle(*quote)
        return cost

    def sell(self, tokens: float) -> float:
        """Burn `tokens` (at most the supply); returns the proceeds, paid from the reserve.

        Selling the whole supply pays out the whole reserve, so rounding never leaves dust or a deficit.
        """
        what = f"{self.key}.sell"
        supply = self.v["supply"]
        if check_amount(tokens, what) > supply:
            raise PluginError(f"{what}: cannot sell {tokens} tokens, the supply is {supply}")
        new_supply, reserve, price = self._quote(supply - tokens, what)
        if self.token is not None:
            self.token.burn(tokens)
        reserve = 0.0 if new_supply == 0 else max(reserve, 0.0)
        proceeds = self.v["reserve"] - reserve
        self._settle(new_supply, reserve, price)
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


class BondingSpec(PluginSpec):
    """Options: `curve` (linear | exponential | sigmoid) and its parameters (`a`, `b`; sigmoid: `cap`, `b`, `mid`),
    optional `supply` (initial, default 0), `token` (key of an earlier token plugin whose supply follows the
    curve's) and `reserve` (the reserve currency's ticker, for display)."""

    kind = "bonding"

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
