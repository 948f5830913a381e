"""The orderbook plugin (a daily call auction) and its scenario, checked against hand-computed books."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

import simcore
from simcore.errors import PluginError
from simcore.plugins.orderbook import OrderBook, OrderBookSpec, clearing_price
from simcore.variables import compute

TRADERS = {name: {"base": 50, "quote": 200} for name in ("alice", "bob", "carol", "dave", "erin", "frank")}


def make_book(accounts: dict[str, Any] = TRADERS, price: float = 7, seed: int = 0) -> OrderBook:
    """A book built the way `simulate` builds it: from the spec's options and its computed variables."""
    spec = OrderBookSpec(base="ai", quote="usdc", price=price, accounts=accounts)
    return spec.build("ob", compute(spec.variables("ob")), {}, random.Random(seed))


@pytest.mark.parametrize("seed", range(4))
def test_a_crossing_book_clears_at_the_price_of_most_volume_and_rations_the_long_side(seed: int) -> None:
    # demand / supply at 10: 16 / 8, at 11: 16 / 18, at 12: 10 / 18 -> 11 executes the most, 16
    book = make_book(seed=seed)
    ids = [book.bid("alice", 10, 12), book.bid("bob", 6, 11), book.ask("carol", 8, 10), book.ask("dave", 10, 11)]
    book.end_day(1)
    assert book.v == {
        "price": 11,
        "volume": 16,
        "cum_volume": 16,
        "orders": 4,
        "filled": 3,
        "unfilled": 1,
        "unfilled_qty": 2,
    }
    assert [book.fills[i] for i in ids] == [10, 6, 8, 8]  # carol's lower limit is served before dave's
    assert book.unfilled == [{"id": ids[3], "owner": "dave", "side": "ask", "qty": 2, "limit": 11}]
    assert book.balance("alice") == {"base": 60, "quote": 200 - 110}  # 10 at 11, under its limit of 12
    assert book.balance("bob") == {"base": 56, "quote": 200 - 66}
    assert book.balance("carol") == {"base": 42, "quote": 288}  # 8 at 11, above its limit of 10
    assert book.balance("dave") == {"base": 42, "quote": 288}  # 2 unsold base come back


def test_a_book_that_does_not_cross_trades_nothing_keeps_the_last_price_and_returns_every_reservation() -> None:
    book = make_book(price=7)
    book.bid("alice", 10, 9)
    book.ask("carol", 10, 10)
    assert book.balance("alice")["quote"] == 110 and book.balance("carol")["base"] == 40
    book.end_day(1)
    assert book.v["price"] == 7  # the `price` option until a first trade
    assert (book.v["volume"], book.v["filled"], book.v["unfilled"], book.v["unfilled_qty"]) == (0, 0, 2, 20)
    assert book.balance("alice") == book.balance("carol") == {"base": 50, "quote": 200}
    book.bid("alice", 1, 12)
    book.ask("carol", 1, 12)
    book.end_day(2)
    book.bid("alice", 1, 9)
    book.end_day(3)
    assert (book.v["price"], book.v["volume"], book.v["cum_volume"]) == (12, 0, 1)
    assert book.fills == {5: 0} and book.unfilled[0]["id"] == 5


def test_ties_in_volume_go_to_the_least_imbalance() -> None:
    # 10, 11 and 12 all execute 10; the imbalance is 0 at 10 and 3 at 11 and 12
    assert clearing_price([(10, 12)], [(10, 10), (3, 11)]) == 10
    book = make_book()
    book.bid("alice", 10, 12)
    book.ask("carol", 10, 10)
    book.ask("dave", 3, 11)
    book.end_day(1)
    assert (book.v["price"], book.v["volume"], book.v["unfilled_qty"]) == (10, 10, 3)
    assert book.balance("alice") == {"base": 60, "quote": 100}
    assert book.balance("carol") == {"base": 40, "quote": 300}


def test_remaining_ties_go_to_the_midpoint_of_the_lowest_and_highest_tied_price() -> None:
    assert clearing_price([(10, 12)], [(10, 10)]) == 11
    # 10, 11, 12 and 16 all execute 10 with an imbalance of 1: the midpoint is 13 (the median would be 11.5)
    bids, asks = [(10, 16), (1, 11)], [(10, 10), (1, 12)]
    assert clearing_price(bids, asks) == 13
    book = make_book()
    book.bid("alice", 10, 16)
    book.bid("bob", 1, 11)
    book.ask("carol", 10, 10)
    book.ask("dave", 1, 12)
    book.end_day(1)
    assert (book.v["price"], book.v["volume"], book.v["unfilled"], book.v["unfilled_qty"]) == (13, 10, 2, 2)
    assert book.balance("alice") == {"base": 60, "quote": 70}
    assert book.balance("carol") == {"base": 40, "quote": 330}


@pytest.mark.parametrize(
    ("bids", "asks"),
    [([], []), ([(5, 10)], []), ([], [(5, 10)]), ([(5, 9.99)], [(5, 10)])],
)
def test_no_clearing_price_without_a_cross(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
    assert clearing_price(bids, asks) is None


def rationed_fills(seed: int) -> tuple[float, ...]:
    """Three sellers offer 10 each at 10 and one buyer wants 15: who gets served is the shuffle's choice."""
    book = make_book(seed=seed)
    book.bid("alice", 15, 10)
    asks = [book.ask(name, 10, 10) for name in ("carol", "dave", "erin")]
    book.end_day(1)
    assert book.v["volume"] == 15 and book.v["unfilled_qty"] == 15
    assert sorted(o["qty"] for o in book.unfilled) == [5, 10]
    return tuple(book.fills[i] for i in asks)


def test_rationing_at_the_margin_depends_on_the_seed_and_is_reproducible() -> None:
    outcomes = {seed: rationed_fills(seed) for seed in range(20)}
    assert all(sorted(fills) == [0, 5, 10] for fills in outcomes.values())
    assert len(set(outcomes.values())) > 1
    assert all(rationed_fills(seed) == fills for seed, fills in outcomes.items())


def test_many_random_days_conserve_both_tokens_and_respect_every_limit() -> None:
    rng = random.Random(11)
    book = make_book(seed=11)
    totals = {asset: sum(a[asset] for a in TRADERS.values()) for asset in ("base", "quote")}
    trades = 0
    for day in range(1, 201):
        opening = {name: book.balance(name) for name in TRADERS}
        orders = {}
        for name in TRADERS:  # one order per owner a day, so its balance change is that order's fill
            side, limit = rng.choice(("bid", "ask")), book.v["price"] * rng.uniform(0.8, 1.25)
            qty = rng.uniform(0.1, 0.5) * (opening[name]["quote"] / limit if side == "bid" else opening[name]["base"])
            orders[name] = (side, limit, (book.bid if side == "bid" else book.ask)(name, qty, limit))
        book.end_day(day)
        for name, (side, limit, order_id) in orders.items():
            fill, now = book.fills[order_id], book.balance(name)
            got_base, got_quote = now["base"] - opening[name]["base"], now["quote"] - opening[name]["quote"]
            sign = 1 if side == "bid" else -1
            assert got_base == pytest.approx(sign * fill, abs=1e-9)
            assert got_quote == pytest.approx(-sign * fill * book.v["price"], abs=1e-9)
            if side == "bid":
                assert -got_quote <= fill * limit + 1e-9
            else:
                assert got_quote >= fill * limit - 1e-9
            assert now["base"] >= 0 and now["quote"] >= 0
        trades += book.v["volume"] > 0
        for asset, total in totals.items():
            assert math.fsum(book.balance(name)[asset] for name in TRADERS) == pytest.approx(total, rel=1e-12)
    assert trades > 150


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0, -1, True, "5", None])
@pytest.mark.parametrize("side", ["bid", "ask"])
def test_bad_quantities_and_limits_are_refused(side: str, bad: Any) -> None:
    book = make_book()
    place = getattr(book, side)
    with pytest.raises(PluginError, match=f"ob.{side} qty: amount must be"):
        place("alice", bad, 1)
    with pytest.raises(PluginError, match=f"ob.{side} limit: amount must be"):
        place("alice", 1, bad)
    book.end_day(1)
    assert book.v["orders"] == 0 and book.balance("alice") == {"base": 50, "quote": 200}


def test_unknown_owners_and_unfunded_orders_are_refused_without_side_effects() -> None:
    book = make_book()
    with pytest.raises(PluginError, match=r"ob.bid: unknown owner 'eve' \(accounts: alice, bob"):
        book.bid("eve", 1, 1)
    with pytest.raises(PluginError, match="unknown owner 'eve'"):
        book.balance("eve")
    with pytest.raises(PluginError, match="'alice' needs 210 USDC to fund 21 at 10 but has 200 free"):
        book.bid("alice", 21, 10)
    with pytest.raises(PluginError, match="'alice' needs 51 AI to fund 51 at 1 but has 50 free"):
        book.ask("alice", 51, 1)
    book.bid("alice", 15, 10)  # reserves 150 of the 200
    with pytest.raises(PluginError, match=r"needs 60 USDC .* has 50 free"):
        book.bid("alice", 6, 10)
    book.ask("alice", 50, 11)  # the whole base, exactly
    with pytest.raises(PluginError, match=r"needs 1 AI .* has 0 free"):
        book.ask("alice", 1, 11)
    book.end_day(1)
    assert book.v["orders"] == 2 and book.balance("alice") == {"base": 50, "quote": 200}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accounts": {"alice": {"usdc": 5}}}, "account 'alice' must map 'base' and/or 'quote'"),
        ({"accounts": {"alice": {"base": -1}}}, "account 'alice' base: amount must be positive"),
        ({"accounts": {"alice": {"quote": math.nan}}}, "account 'alice' quote: amount must be positive"),
        ({"accounts": ["alice"]}, "accounts must be"),
        ({"price": 0}, "initial price: amount must be positive"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    spec = OrderBookSpec(**{"base": "AI", "quote": "USDC", "price": 1, "accounts": {}} | options)
    with pytest.raises(PluginError, match=message):
        spec.build("ob", compute(spec.variables("ob")), {}, random.Random(0))


def test_missing_assets_open_at_zero_and_options_are_not_mutated() -> None:
    accounts = {"alice": {"quote": 5}, "bob": {}}
    book = make_book(accounts)
    book.bid("alice", 1, 5)
    book.end_day(1)
    assert book.balance("bob") == {"base": 0, "quote": 0}
    assert accounts == {"alice": {"quote": 5}, "bob": {}}


def test_the_scenario_runs_a_year_reproducibly_and_its_graphs_read_real_columns() -> None:
    scenario = simcore.load_scenario("orderbook")
    assert (
        scenario.description
        == "A daily call auction between a market maker and noisy traders, trading $AI for $USDC at one price a day."
    )
    first, again, other = (simcore.simulate("orderbook", seed=seed) for seed in (5, 5, 6))
    assert len(first.stats) == 366
    assert first.stats == again.stats and first.nvars == again.nvars
    assert first.stats != other.stats
    columns = set(first.frame().columns)
    assert {line["key"] for graph in scenario.graphs for line in graph["lines"]} <= columns
    book = first.res["orderbook"]
    assert first.nvars["orderbook_p"] == book["price"]
    assert first.nvars["orderbook_vol"] == book["cum_volume"]
    assert book["cum_volume"] == pytest.approx(math.fsum(row["orderbook"]["volume"] for row in first.stats))
    assert sum(row["orderbook"]["volume"] > 0 for row in first.stats) > 200


def test_the_initial_price_variable_is_fuzzable() -> None:
    result = simcore.simulate("orderbook", 0.1, overrides={"orderbook_ip": 2.5}, seed=1)
    assert result.stats[0]["orderbook"]["price"] == 2.5 and result.v["orderbook_ip"] == 2.5
    assert 2.5 * 0.7 < result.res["orderbook"]["price"] < 2.5 * 1.3


def test_sides_equal_up_to_float_rounding_fill_completely_without_dust_left_over() -> None:
    book = make_book({"alice": {"quote": 1}, "carol": {"base": 1}, "dave": {"base": 1}}, price=1)
    book.bid("alice", 0.1, 1)
    book.bid("alice", 0.2, 1)
    book.ask("carol", 0.3, 1)  # 0.1 + 0.2 is 0.30000000000000004 in floats
    book.end_day(1)
    assert (book.v["filled"], book.v["unfilled"], book.unfilled) == (3, 0, [])
