"""The market protocol: what a plugin implements to be traded from a slot, so any market is one plugin file.

A plugin kind is a slot market when its spec names a `Market` subclass (`PluginSpec.market`). The market trades
two or more tickers (`tickers_of`) and tells what it holds of each for the seat (`reserves()`, in the same order): a
pool its liquidity, a bonding curve its reserve and minus the supply it has minted, a weighted pool its two balances
and minus its pool shares, an order book what the seat has deposited in it.
A trade is quoted on values without changing anything (`quote`: the reserves it would leave, the state to commit
and what the action returns; `RefusedError` when the market will not fill it), then committed. The ledger settles the
wallet from the change in `reserves` alone, exactly, so a market cannot pay out what it did not give up:

- a *swap* market (`swap = True`: a pool, a curve) must give at least one ticker and take at least one in every
  trade (with two tickers: give one and take the other);
- a *custody* market (an order book) takes deposits and gives them back (`collect`, at each of the seat's turns and
  at the end of the run, returns what it owes the seat), and between the seat's turns moves what it holds for it
  by the market's own rules (a clearing).

Conservation is the ledger's, for every market: the wallet gains exactly what left the market for the seat and
pays exactly what entered it. A market may add its own invariant (`audit`), e.g. a curve's reserve is the area
under its price up to its supply. Prompts and charts describe a market from its class: `summary`, each `Action`'s
parameters and doc, `units` (what an action's amount and result count) and `lines` (the stats columns worth drawing);
the texts name the tickers `{a}`, `{b}`, `{c}`, ... in their order (`by_letter`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from simcore.checks import listed
from simcore.errors import PluginError, ScenarioError

if TYPE_CHECKING:
    from simcore.plugins.base import Plugin, PluginSpec

Reserves = tuple[float, ...]  # what a market holds for the seat, one amount per ticker in the order of its `tickers`


class RefusedError(PluginError):
    """A market will not fill a well-formed trade; the message is the short reason a player is told."""


@dataclass(frozen=True)
class Action:
    """One action of a market: its parameters' names (each a number in (0, max_amount]) and what it does, in a
    model's words with `{a}`, `{b}`, `{c}`, ... for the market's tickers in order (`by_letter`)."""

    params: tuple[str, ...]
    doc: str


@dataclass(frozen=True)
class Quote:
    """A trade as a market would make it: the `reserves` it leaves, the `state` `commit` takes and the `result`
    the action returns to the player."""

    reserves: Reserves
    state: Any
    result: float


class Market:
    """A tradeable plugin as one seat sees it; subclasses set the class attributes and implement the methods."""

    actions: ClassVar[Mapping[str, Action]]
    swap: ClassVar[bool] = True
    summary: ClassVar[str]  # what the market is, for a model: `{key}` and the tickers `{a}`, `{b}`, ... are filled in

    def __init__(self, plugin: Plugin, tickers: tuple[str, ...], owner: str) -> None:
        self.plugin, self.tickers, self.owner = plugin, tickers, owner

    @classmethod
    def tickers_of(cls, spec: PluginSpec, plugins: Mapping[str, PluginSpec]) -> tuple[str, ...]:
        """The tickers a declared market trades (two or more, each once), known before any run (`plugins`: the
        scenario's specs); by default the spec's own `tickers()`."""
        return spec.tickers()

    @classmethod
    def open(cls, plugin: Plugin, spec: PluginSpec, plugins: Mapping[str, PluginSpec], owner: str) -> Market:
        """The market for the seat `owner` on a live plugin."""
        return cls(plugin, cls.tickers_of(spec, plugins), owner)

    def reserves(self) -> Reserves:
        """What the market holds for the seat, per ticker."""
        raise NotImplementedError

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        """`action(*args)` computed on values, changing nothing; `RefusedError` if the market will not fill it."""
        raise NotImplementedError

    def commit(self, quote: Quote) -> None:
        """Make a quoted trade."""
        raise NotImplementedError

    def collect(self) -> Quote | None:
        """What the market owes the seat and gives back at its turn (a custody market), or None."""
        return None

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        """What `amount` of `ticker` would fetch in `quote` sold to the market now (the sale's own quote, so its
        price impact counts and a price the seat pumped is not what it is marked at), or None if the market does
        not trade that pair."""
        raise NotImplementedError

    def audit(self) -> str | None:
        """What is wrong with the market's own invariant, if anything (checked after every trade)."""
        return None

    @classmethod
    def units(cls, action: str, tickers: tuple[str, ...]) -> tuple[str, str | None]:
        """What `action`'s first argument and its result count, for a model's feedback (`15 AI for 16.2 USDC`):
        the result's ticker is None when it is no amount (an order's id), the amount's "" when it is none either."""
        raise NotImplementedError

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, ...]) -> list[dict[str, str]]:
        """The stats columns worth drawing for this market, as chart lines `{"label", "key"}`."""
        return []


def by_letter(tickers: Sequence[str]) -> dict[str, str]:
    """The tickers as a market's texts name them, in order: `{"a": first, "b": second, "c": third, ...}`."""
    return {chr(ord("a") + n): ticker for n, ticker in enumerate(tickers)}


def market_type(key: str, spec: PluginSpec) -> type[Market]:
    """The market class that trades the plugin `key` declared by `spec`; a ScenarioError if its kind is no market."""
    market = type(spec).market
    if market is None:
        from simcore.plugins.base import PluginSpec

        kinds = listed(sorted(kind for kind, s in PluginSpec.registry.items() if s.market is not None))
        raise ScenarioError(f"slot: actions name {key!r}, a {spec.kind} plugin; a slot trades only on {kinds} plugins")
    return market
