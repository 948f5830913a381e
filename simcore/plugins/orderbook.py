"""The orderbook plugin: a daily call auction of a base token against a quote token, between funded accounts.

Owners post limit orders during a day (`bid`, `ask`); each order reserves what it could cost (a bid
`qty * limit` of quote, an ask `qty` of base), so every order is funded. At the day's end the book clears
at one price:

- the price maximises the executed volume `min(demand(P), supply(P))` over the distinct limits, where
  demand is the bid quantity with limit >= P and supply the ask quantity with limit <= P; ties go to the
  least imbalance `|demand - supply|`, then to the midpoint of the lowest and highest price still tied
  (every price in between executes the same volume);
- orders are shuffled with the run's RNG, then ranked by price (highest bids, lowest asks first), so
  equal limits are served in a random order that the seed reproduces; the short side fills completely,
  the long side is rationed and its marginal order may fill in part;
- every fill settles at the clearing price, so no buyer pays above its limit and no seller receives
  below its limit; unused reservations return to their owners and unfilled orders expire.

A book that does not cross trades nothing and keeps the last price (at first the `price` option).

Accounts may join during a run (`join`). As a slot market (`OrderBookMarket`) a seat has its own account, funds
each order from its wallet as it posts it (what the book holds for the seat is its free balance plus what its
open orders reserve), may cancel its orders before the clearing, and takes back what the book owes it at each turn.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import PluginError
from simcore.markets import Action, Market, Quote, RefusedError, Reserves
from simcore.plugins.base import Plugin, PluginSpec, check_amount, state_var
from simcore.variables import Variable

ASSETS = ("base", "quote")
# A long-side remainder this small (relative to the day's volume) is float rounding, not an unfilled order.
_DUST = 1e-12

Offer = tuple[float, float]  # (qty, limit): an order as the clearing price sees it


@dataclass(slots=True)
class Order:
    """One limit order in today's book; `qty` is in base, `limit` in quote per base."""

    id: int
    owner: str
    side: str
    qty: float
    limit: float


def clearing_price(bids: Sequence[Offer], asks: Sequence[Offer]) -> float | None:
    """The day's single price for (qty, limit) bids and asks, or None when the book does not cross.

    Maximum volume, then least imbalance, then the midpoint of the prices still tied (see the module doc).
    """
    bid_keys, demand = _ladder([(qty, -limit) for qty, limit in bids])
    ask_keys, supply = _ladder(asks)
    scores: dict[float, tuple[float, float]] = {}
    for price in sorted({limit for _, limit in (*bids, *asks)}):
        wanted, offered = demand[bisect_right(bid_keys, -price)], supply[bisect_right(ask_keys, price)]
        scores[price] = (min(wanted, offered), -abs(wanted - offered))
    best = max(scores.values(), default=(0.0, 0.0))
    if best[0] <= 0:
        return None
    tied = [price for price, score in scores.items() if score == best]
    return (tied[0] + tied[-1]) / 2


def _ladder(offers: Sequence[Offer]) -> tuple[list[float], list[float]]:
    """Sort keys ascending and the running quantity: `total[bisect_right(keys, x)]` is the qty with key <= x."""
    ranked = sorted(offers, key=lambda offer: offer[1])
    return [key for _, key in ranked], [0.0, *accumulate(qty for qty, _ in ranked)]


def _ration(orders: Sequence[Order], volume: float) -> dict[int, float]:
    """Fill `orders` in the given priority until `volume` is used up; the marginal order may fill in part."""
    fills: dict[int, float] = {}
    left, dust = volume, volume * _DUST
    for order in orders:
        if left <= dust:
            break
        fill = order.qty if order.qty <= left + dust else left
        fills[order.id] = fill
        left -= fill
    return fills


def _allocate(book: Sequence[Order], price: float) -> dict[int, float]:
    """The fills at `price`: price priority first, then the (shuffled) book order among equal limits."""
    bids = sorted((o for o in book if o.side == "bid" and o.limit >= price), key=lambda o: -o.limit)
    asks = sorted((o for o in book if o.side == "ask" and o.limit <= price), key=lambda o: o.limit)
    volume = min(math.fsum(o.qty for o in bids), math.fsum(o.qty for o in asks))
    return {**_ration(bids, volume), **_ration(asks, volume)}


def _reservation(side: str, qty: float, limit: float) -> tuple[str, float]:
    """What an order reserves: a bid `qty * limit` of quote, an ask `qty` of base."""
    return ("quote", qty * limit) if side == "bid" else ("base", qty)


def _opening_balance(amount: Any, what: str) -> float:
    """An initial balance: zero or a positive finite number."""
    if is_number(amount) and amount == 0:
        return amount
    return check_amount(amount, what)


class OrderBook(Plugin):
    """A daily call auction between the accounts given at build time; read an account with `balance(owner)`.

    State `v` describes the last clearing: `price` (last clearing price), `volume` (base traded that day),
    `cum_volume` (base traded since the start), `orders`, `filled` (orders filled completely), `unfilled`
    (orders with quantity left, partial fills included, so `filled + unfilled == orders`), `unfilled_qty`.
    After a clearing, `fills[id]` is each of that day's orders' filled qty (0 when none) and `unfilled` lists
    the expired remainders as `{"id", "owner", "side", "qty", "limit"}`; both are replaced at the next clearing.
    """

    def __init__(
        self,
        key: str,
        base: str,
        quote: str,
        accounts: Mapping[str, Mapping[str, float]],
        price: float,
        rng: random.Random,
    ) -> None:
        super().__init__(key)
        check_amount(price, f"{key}: initial price")
        if not isinstance(accounts, Mapping):
            raise PluginError(f"{key}: accounts must be {{owner: {{'base': x, 'quote': y}}}}, got {accounts!r}")
        self.base, self.quote, self._rng = base, quote, rng
        self._accounts = {owner: self._opening(owner, amounts) for owner, amounts in accounts.items()}
        self.fills: dict[int, float] = {}
        self.unfilled: list[dict[str, Any]] = []
        self._book: list[Order] = []
        self._last_id = 0
        self.v = {
            "price": price,
            "volume": 0.0,
            "cum_volume": 0.0,
            "orders": 0,
            "filled": 0,
            "unfilled": 0,
            "unfilled_qty": 0.0,
        }

    def _opening(self, owner: str, amounts: Any) -> dict[str, float]:
        if not isinstance(amounts, Mapping) or not set(amounts) <= set(ASSETS):
            raise PluginError(
                f"{self.key}: account {owner!r} must map 'base' and/or 'quote' to amounts, got {amounts!r}"
            )
        return {
            asset: _opening_balance(amounts.get(asset, 0), f"{self.key}: account {owner!r} {asset}") for asset in ASSETS
        }

    def _account(self, owner: str, what: str) -> dict[str, float]:
        try:
            return self._accounts[owner]
        except (KeyError, TypeError):
            known = ", ".join(map(str, self._accounts)) or "none"
            raise PluginError(f"{what}: unknown owner {owner!r} (accounts: {known})") from None

    def balance(self, owner: str) -> dict[str, float]:
        """The owner's free `base` and `quote`: what today's open orders reserve is not included."""
        return dict(self._account(owner, f"{self.key}.balance"))

    def join(self, owner: str) -> None:
        """Open an empty account for `owner`, during a run; a PluginError if it has one."""
        if owner in self._accounts:
            raise PluginError(f"{self.key}: {owner!r} already has an account")
        self._accounts[owner] = dict.fromkeys(ASSETS, 0.0)

    def bid(self, owner: str, qty: float, limit: float) -> int:
        """Offer to buy `qty` base at `limit` quote each or less; reserves `qty * limit` quote. Returns the order id."""
        return self.place(owner, "bid", qty, limit)

    def ask(self, owner: str, qty: float, limit: float) -> int:
        """Offer to sell `qty` base at `limit` quote each or more; reserves `qty` base. Returns the order id."""
        return self.place(owner, "ask", qty, limit)

    def order(self, owner: str, order_id: Any) -> Order | None:
        """Today's open order `order_id` of `owner`, or None."""
        return next((o for o in self._book if o.id == order_id and o.owner == owner), None)

    def cancel(self, owner: str, order_id: Any) -> Order:
        """Take `owner`'s open order `order_id` off today's book; what it reserved leaves the book with it (the
        caller pays it out). A PluginError if the owner has no such order."""
        order = self.order(owner, order_id)
        if order is None:
            raise PluginError(f"{self.key}.cancel: {owner!r} has no open order {order_id!r} today")
        self._book.remove(order)
        return order

    def withdraw(self, owner: str) -> dict[str, float]:
        """Empty `owner`'s free balances out of the book; returns them."""
        account = self._account(owner, f"{self.key}.withdraw")
        free = dict(account)
        account.update(dict.fromkeys(ASSETS, 0.0))
        return free

    @property
    def next_id(self) -> int:
        """The id the next order will get."""
        return self._last_id + 1

    def custody(
        self, owner: str, change: tuple[str, float, float] | None = None, without: int = 0, withdrawn: bool = False
    ) -> Reserves:
        """What the book holds for `owner` in base and quote: its free balance plus what its open orders reserve,
        each summed exactly once rounded; as it would be with the order `change` (side, qty, limit) added, the
        order `without` left out, or the free balance `withdrawn`."""
        account = self._account(owner, f"{self.key}.custody")
        held: dict[str, list[float]] = {asset: [0.0 if withdrawn else account[asset]] for asset in ASSETS}
        orders = [(o.side, o.qty, o.limit) for o in self._book if o.owner == owner and o.id != without]
        for side, qty, limit in [*orders, *([change] if change else [])]:
            asset, cost = _reservation(side, qty, limit)
            held[asset].append(cost)
        return math.fsum(held["base"]), math.fsum(held["quote"])

    def place(self, owner: str, side: str, qty: float, limit: float, deposited: bool = False) -> int:
        """Post an order: funded from the owner's free balance, or (`deposited`) by what it pays into the book
        with it. Returns the order id."""
        what = f"{self.key}.{side}"
        account = self._account(owner, what)
        check_amount(qty, f"{what} qty")
        check_amount(limit, f"{what} limit")
        asset, cost = _reservation(side, qty, limit)
        if not deposited and cost > account[asset]:
            ticker = self.quote if asset == "quote" else self.base
            raise PluginError(
                f"{what}: {owner!r} needs {cost} {ticker} to fund {qty} at {limit} but has {account[asset]} free"
            )
        if not deposited:
            account[asset] -= cost
        self._last_id += 1
        self._book.append(Order(self._last_id, owner, side, qty, limit))
        return self._last_id

    def end_day(self, day: int) -> None:
        """Clear today's book at one price, settle every order and expire what is left."""
        book, self._book = self._book, []
        self._rng.shuffle(book)
        bids = [(o.qty, o.limit) for o in book if o.side == "bid"]
        price = clearing_price(bids, [(o.qty, o.limit) for o in book if o.side == "ask"])
        if price is not None:
            self.v["price"] = price
        fills = {} if price is None else _allocate(book, price)
        for order in book:
            self._settle(order, fills.get(order.id, 0.0))
        self._record(book, fills)

    def _settle(self, order: Order, fill: float) -> None:
        """Move the fill at the clearing price and return the unused reservation."""
        account, paid = self._accounts[order.owner], fill * self.v["price"]
        if order.side == "bid":
            account["base"] += fill
            account["quote"] += order.qty * order.limit - paid
        else:
            account["base"] += order.qty - fill
            account["quote"] += paid

    def _record(self, book: Sequence[Order], fills: Mapping[int, float]) -> None:
        self.fills = {order.id: fills.get(order.id, 0.0) for order in book}
        self.unfilled = [
            {"id": o.id, "owner": o.owner, "side": o.side, "qty": o.qty - self.fills[o.id], "limit": o.limit}
            for o in book
            if self.fills[o.id] < o.qty
        ]
        volume = math.fsum(self.fills[o.id] for o in book if o.side == "bid")
        self.v.update(
            volume=volume,
            cum_volume=self.v["cum_volume"] + volume,
            orders=len(book),
            filled=len(book) - len(self.unfilled),
            unfilled=len(self.unfilled),
            unfilled_qty=math.fsum(o["qty"] for o in self.unfilled),
        )


class OrderBookMarket(Market):
    """An order book as a slot market for the seat `owner`, its own account (joined when the seat opens): a custody
    market. Posting an order pays what it reserves into the book, cancelling it pays that back, and as each turn
    begins the seat takes back its free balance (yesterday's fills and what its orders did not use)."""

    plugin: OrderBook
    swap = False
    actions: ClassVar[Mapping[str, Action]] = {
        "bid": Action(
            ("qty", "limit"),
            "offer to buy `qty` {a} at `limit` {b} each or less: `qty * limit` {b} leaves your wallet now; returns "
            "the order's id.",
        ),
        "ask": Action(
            ("qty", "limit"),
            "offer to sell `qty` {a} at `limit` {b} each or more: the {a} leaves your wallet now; "
            "returns the order's id.",
        ),
        "cancel": Action(
            ("order",),
            "take today's order `order` (the id `bid` or `ask` returned) off the book before it clears: "
            "what it holds comes back to your wallet; returns the qty cancelled.",
        ),
    }
    summary = (
        "an order book trading {a} for {b} in one call auction a day: after every player's turn it clears all of "
        "the day's orders at the one price that trades the most, so a bid fills at that price only if its limit is "
        "at or above it, and an ask only if its limit is at or below it; then unfilled orders expire. Its state `v`: "
        "`price` (the last clearing price, {b} per {a}), `volume` ({a} traded at the last clearing), `cum_volume`, "
        "`orders`, `filled`, `unfilled`, `unfilled_qty`. What the clearing gives you ({a} bought, {b} for {a} sold, "
        "what your orders did not use) is in your wallet at your next turn."
    )

    @classmethod
    def open(cls, plugin: Plugin, spec: PluginSpec, plugins: Mapping[str, PluginSpec], owner: str) -> Market:
        assert isinstance(plugin, OrderBook)
        plugin.join(owner)
        return super().open(plugin, spec, plugins, owner)

    def reserves(self) -> Reserves:
        return self.plugin.custody(self.owner)

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        book, owner = self.plugin, self.owner
        if action == "cancel":
            order = book.order(owner, args[0])
            if order is None:
                raise RefusedError("no open order of yours has that id")
            return Quote(book.custody(owner, without=order.id), ("cancel", order.id), order.qty)
        qty, limit = args
        return Quote(book.custody(owner, (action, qty, limit)), (action, qty, limit), float(book.next_id))

    def commit(self, quote: Quote) -> None:
        book, action = self.plugin, quote.state[0]
        if action == "cancel":
            book.cancel(self.owner, quote.state[1])
        elif action == "withdraw":
            book.withdraw(self.owner)
        else:
            book.place(self.owner, action, *quote.state[1:], deposited=True)

    def collect(self) -> Quote | None:
        free = self.plugin.balance(self.owner)
        if not any(free.values()):
            return None
        return Quote(self.plugin.custody(self.owner, withdrawn=True), ("withdraw",), 0.0)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        """At the last clearing price: a book cannot quote a sale before it clears, and a seat's own orders may have
        set that price, so a game on a book scores a balance, not `value`."""
        return amount * self.plugin.v["price"] if (ticker, quote) == self.tickers else None

    @classmethod
    def units(cls, action: str, tickers: tuple[str, str]) -> tuple[str, str | None]:
        return ("" if action == "cancel" else tickers[0]), None

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, str]) -> list[dict[str, str]]:
        return [{"label": f"{key} {tickers[0]} price", "key": f"{key}.price"}]


class OrderBookSpec(PluginSpec):
    """Options: `base`, `quote` (tickers), `price` (the initial price of base in quote), `accounts`.

    `accounts` maps each owner to opening balances, e.g. `{"mm": {"base": 1000, "quote": 1000}}`; a missing
    asset is 0. Generated variables: `K_ip` (initial price, fuzzable), `K_p` (last clearing price) and
    `K_vol` (base traded over the whole run).
    """

    kind = "orderbook"
    market = OrderBookMarket

    def tickers(self) -> tuple[str, str]:
        return str(self.option("base")).upper(), str(self.option("quote")).upper()

    def variables(self, key: str) -> dict[str, Variable]:
        base, quote = self.tickers()
        return {
            f"{key}_ip": Variable(f"Order Book ${base} Initial Price", self.option("price"), display={"type": quote}),
            f"{key}_p": state_var(key, "price", f"Order Book ${base} Price", type=quote),
            f"{key}_vol": state_var(key, "cum_volume", f"Order Book ${base} Total Volume", type=base),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> OrderBook:
        base, quote = self.tickers()
        return OrderBook(key, base, quote, self.option("accounts"), v[f"{key}_ip"], rng)
