"""The token plugin: a ticker with a supply and a price; unlike AI3's, it can mint and burn."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from simcore.checks import is_number
from simcore.errors import PluginError
from simcore.plugins.base import Plugin, PluginSpec, check_amount, state_var
from simcore.variables import Variable


class Token(Plugin):
    """State `v`: `ts` (total supply) and `price`."""

    def __init__(self, key: str, ticker: str, supply: float, price: float) -> None:
        super().__init__(key)
        for what, value in (("supply", supply), ("price", price)):
            if not is_number(value) or value < 0:
                raise PluginError(f"{key}: {what} must be a finite number >= 0, got {value!r}")
        self.ticker = ticker
        self.v = {"ts": supply, "price": price}

    def mint(self, amount: float) -> float:
        """Add `amount` to the supply; returns the new supply."""
        self.v["ts"] += check_amount(amount, f"{self.key}.mint")
        return self.v["ts"]

    def burn(self, amount: float) -> float:
        """Remove `amount` from the supply (never below zero); returns the new supply."""
        check_amount(amount, f"{self.key}.burn")
        if amount > self.v["ts"]:
            raise PluginError(f"{self.key}.burn: cannot burn {amount} of a supply of {self.v['ts']}")
        self.v["ts"] -= amount
        return self.v["ts"]


def linked_token(kind: str, key: Any, plugins: Mapping[str, Plugin]) -> Token:
    """The token plugin named by a plugin's `token` option; it must be declared before that plugin."""
    token = plugins.get(key)
    if not isinstance(token, Token):
        tokens = ", ".join(k for k, p in plugins.items() if isinstance(p, Token)) or "none"
        raise PluginError(
            f"{kind} option 'token' must name a token plugin declared before it, got {key!r} (tokens: {tokens})"
        )
    return token


class TokenSpec(PluginSpec):
    """Options: `ticker`, `supply`, optional `price` (default 0)."""

    kind = "token"

    def variables(self, key: str) -> dict[str, Variable]:
        token = f"${self.option('ticker').upper()}"
        its, ts, price = f"{key}_its", f"{key}_ts", f"{key}_p"
        return {
            its: Variable(f"{token} Initial Total Supply", self.option("supply")),
            price: state_var(key, "price", f"{token} Price"),
            ts: state_var(key, "ts", f"{token} Total Supply"),
            f"{key}_fdv": Variable(f"{token} FDV", lambda g: g(ts) * g(price)),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Token:
        return Token(key, self.option("ticker").upper(), v[f"{key}_its"], self.option("price", 0))
