"""The grammar's market-making parts: trading a pool to a price, and thresholds learned from the run."""

from __future__ import annotations

import ast
import random

import simcore
from evolver.prompting import context_for
from evolver.providers.grammar import BRACKETS, TRADE_TO, draw_program, grammar_chain, market_of, watch_edges
from evolver.syntax import parse
from sandbox.policy import compile_player

MARKET = market_of(context_for(simcore.load_scenario("hidden_bots")))


def helpers() -> dict:
    """The grammar's helpers as a program defines them."""
    names: dict = {}
    exec(BRACKETS, names)
    return names


def test_a_pool_market_watches_the_slots_observations_not_the_scenarios_variables_nor_the_pools_state() -> None:
    assert MARKET.pool == ("la", "lb")
    assert MARKET.watched == ("total_buy", "total_sell")  # not the pool's reserves: the player reads the pool


def test_edge_is_the_middle_of_the_bracket_a_number_rose_and_did_not_rise_in() -> None:
    names, r = helpers(), {}
    track, edge = names["track"], names["edge"]
    assert edge(r, "n", 0.7, 1.1) == 0.7  # nothing seen yet: the guess
    # each day: the price the player left the day before, then the count it sees today
    for left, now in [(0.8, 0), (0.9, 10), (1.0, 20), (1.3, 20), (1.2, 20)]:
        r["left"] = left
        track(r, {"n": now}, ("n",))
    # it rose after 0.9 and after 1.0 (not after 1.3 nor 1.2): between 1.0 and 1.2
    assert (r["hi_n"], r["lo_n"]) == (1.0, 1.2) and edge(r, "n", 0.7, 1.1) == 1.1
    r2 = {}
    for left, now in [(0.8, 0), (0.9, 5)]:
        r2["left"] = left
        track(r2, {"n": now}, ("n",))
    assert edge(r2, "n", 0.7, 1.1) == 0.9 * 1.1  # only a rise seen (after 0.9 was left): a step above it
    track(r2, {"n": "not a number"}, ("n",))  # ignored
    assert r2["was_n"] == 5


def test_edge_above_credits_a_rise_only_on_a_day_nothing_else_moved() -> None:
    """A seller's threshold: the number rises after high prices. On a day another tracked number rose too (a buyer
    before it, who moved the price it saw) the rise says nothing of the price left, so it is not credited."""
    names, r = helpers(), {}
    track, above, band = names["track"], names["edge_above"], names["band"]
    assert above(r, "s", 0.9, 1.1) == 0.9
    days = [(0.8, 0, 0), (0.9, 10, 5), (1.0, 10, 5), (1.1, 10, 10), (1.05, 10, 10), (1.2, 10, 15)]
    for left, buys, sells in days:  # after 0.9 both rose (not credited); after 1.1 only the sells did
        r["left"] = left
        track(r, {"b": buys, "s": sells}, ("b", "s"))
    assert (r["top_s"], r["bot_s"]) == (1.1, 1.05) and above(r, "s", 0.9, 1.1) == (1.1 + 1.05) / 2
    assert r["hi_b"] == 0.9 and r["lo_b"] == 1.0  # a buyer's bracket is credited either way
    r["left"] = 1.15
    track(r, {"b": 10, "s": 15}, ("b", "s"))  # no rise after 1.15 contradicts the rise after 1.1: that is dropped
    assert r.get("top_s") == 0 and r["bot_s"] == 1.15 and above(r, "s", 0.9, 1.1) == 1.15 * 1.1
    # the band: below the level while selling, above the higher of the two while short
    assert band(1.0, 1.2, 0.01, False) == 0.99 and band(1.0, 1.2, 0.01, True) == 1.2 * 1.01
    assert band(1.0, 0, 0.01, True) == 1.01


def test_trade_to_moves_a_pool_to_the_price_the_wallet_allows() -> None:
    """On a real pool: a price above the pool's is reached by buying, below by selling (within the holdings)."""
    text = TRADE_TO.format(token="la", quote="lb", buy="buyA", sell="sellA", floor=0.01)
    names: dict = {}
    exec(text, names)
    dex = simcore.plugins.Dex("dex", "AI", "USDC", 100.0, 50.0, 0.0)
    names["trade_to"](dex, 0.6, 0, 1000.0)
    assert abs(dex.v["lb"] / dex.v["la"] - 0.6) < 1e-9
    names["trade_to"](dex, 0.4, 1.0, 0)  # one token to sell: it gets as far as that
    assert 0.4 < dex.v["lb"] / dex.v["la"] < 0.6


def test_every_edge_of_the_chain_is_tracked_and_nothing_else() -> None:
    rng, seen = random.Random(4), 0
    for _ in range(300):
        tree = draw_program(MARKET, rng)
        code = ast.unparse(tree)
        compile_player(code)
        chain = grammar_chain(tree)
        assert chain is not None
        edges = {call.args[1].value for call in ast.walk(chain) if isinstance(call, ast.Call)
                 and getattr(call.func, "id", None) in ("edge", "edge_above")}  # fmt: skip
        assert tracked(code) == edges
        seen += bool(edges)
    assert seen > 20
    # a rule's edge changed by hand (as a crossover might): the tracking follows
    program = next(code for code in (ast.unparse(draw_program(MARKET, random.Random(k))) for k in range(200))
                   if tracked(code) == {"total_buy"} and "edge(r, 'total_buy'" in code)  # fmt: skip
    moved = watch_edges(parse(program.replace("edge(r, 'total_buy'", "edge(r, 'total_sell'")))
    assert tracked(ast.unparse(moved)) == {"total_sell"}


def tracked(code: str) -> set[str]:
    """The numbers a program's `track` line watches (none without one); a program has at most one."""
    lines = [line.strip() for line in code.splitlines() if line.strip().startswith("track(r, v, ")]
    assert len(lines) <= 1
    return set(ast.literal_eval(lines[0][len("track(r, v, ") : -1])) if lines else set()
