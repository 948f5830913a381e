"""The markets a slot can trade on: an adapter per tradeable plugin kind, seen by the seat through one shape.

A market trades two tickers (`tickers`), tells what it holds of each (`reserves()`), quotes an action on values
without changing anything (`quote`: the state it would take, its reserves first; a PluginError when it refuses),
takes a quoted state (`commit`) and prices one ticker in another. The ledger settles the wallet from the change
in `reserves`, so a market cannot pay out what it did not give up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from operator import itemgetter
from typing import ClassVar

from simcore.checks import listed
from simcore.errors import ScenarioError
from simcore.plugins.base import PluginSpec
from simcore.plugins.dex import Dex, DexSpec

Reserves = tuple[float, ...]  # what a market holds, in the order of its `tickers`


class DexMarket:
    """A constant-product pool: it holds `la` of token A and `lb` of token B."""

    spec_type: ClassVar[type[PluginSpec]] = DexSpec
    actions: ClassVar[tuple[str, ...]] = ("buyA", "sellA", "buyB", "sellB")

    def __init__(self, dex: Dex) -> None:
        self.plugin = dex
        self.tickers = (dex.a, dex.b)
        self.reserves: Callable[[], Reserves] = partial(itemgetter("la", "lb"), dex.v)  # read in C: every turn

    @staticmethod
    def tickers_of(spec: DexSpec) -> tuple[str, ...]:
        """The tickers a declared pool trades, known before any run."""
        return spec.tickers()

    def quote(self, action: str, amount: float) -> tuple[float, ...]:
        """The state after `action(amount)`, its reserves first, computed without changing the pool (the dex's
        fair quote: no rounding in the trader's favour); a PluginError if the pool refuses."""
        return self.plugin.quote(action, amount)

    def commit(self, state: tuple[float, ...]) -> None:
        """Set the pool to a state `quote` gave."""
        self.plugin.commit(*state)

    def price(self, ticker: str, quote: str) -> float | None:
        """The pool's spot price of `ticker` in `quote`, or None if it does not trade that pair."""
        dex = self.plugin
        field_name = {(dex.a, dex.b): "pa", (dex.b, dex.a): "pb"}.get((ticker, quote))
        return None if field_name is None else dex.v[field_name]


Market = DexMarket
MARKETS: tuple[type[Market], ...] = (DexMarket,)


def market_type(key: str, spec: PluginSpec) -> type[Market]:
    """The market class that trades the plugin `key` declared by `spec`; a ScenarioError if none does."""
    market = next((m for m in MARKETS if isinstance(spec, m.spec_type)), None)
    if market is None:
        kinds = listed([m.spec_type.kind for m in MARKETS])
        raise ScenarioError(f"slot: actions name {key!r}, a {spec.kind} plugin; a slot trades only on {kinds} plugins")
    return market
