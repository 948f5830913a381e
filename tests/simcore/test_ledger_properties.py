"""Properties of the exact ledger and the dex's fair quote, over random pools, trades, collections and exceptions.

Hypothesis draws: pools (sizes, fees), the player's daily operations (trades of any kind and size, garbage
collections, garbage whose finaliser trades, exceptions raised and caught, calls of actions from inside a trade),
and background players. Whatever it draws, tokens are conserved exactly, the pool's product never falls on the
player's trades, and the wallet is never worth more than the trades the pool accepted explain.
"""

import gc
import math
import types
from fractions import Fraction

import pytest
from faulty_markets import HookedDex, HookedDexSpec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simcore import InvalidAction, InvariantViolation, SimulationError, load_scenario, play
from simcore.exact import ceil_float, floor_float, least_cofactor, product_below, units
from simcore.plugins import Dex

ACTIONS = ("buyA", "sellA", "buyB", "sellB")
finite = st.floats(min_value=1e-300, max_value=1e12, allow_nan=False, allow_infinity=False)
amounts = st.one_of(
    st.floats(min_value=5e-324, max_value=1e-10),  # below any pool's resolution
    st.floats(min_value=1e-10, max_value=2000),
    st.sampled_from([1.0, 0.1, 3.3, 999.9999999999999, 1000.0]),
)
fees = st.sampled_from([0.0, 0.003, 0.3])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _frozen_heap():
    """Everything the suite made before this module is put out of the collector's sight (`gc.freeze`), so the
    collections the runs here force scan only what the runs made: the garbage they plant is what they are for. In
    the whole suite's process a full collection of its heap took half a second, and a run forces two."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


# --- the exact helpers -------------------------------------------------------------------------------------


@given(finite)
def test_units_hold_a_float_exactly(x):
    assert Fraction(units(x), 1 << 1074) == Fraction(x)
    assert floor_float(units(x)) == x == ceil_float(units(x))


@given(finite, finite)
def test_floor_float_is_the_largest_float_at_most_the_amount(x, y):
    total = units(x) + units(y)
    below = floor_float(total)
    assert Fraction(below) <= Fraction(total, 1 << 1074) < Fraction(math.nextafter(below, math.inf))


@given(finite, finite, finite, finite)
def test_product_below_is_exact(a, b, c, d):
    assert product_below(a, b, c, d) == (Fraction(a) * Fraction(b) < Fraction(c) * Fraction(d))


@given(finite, finite, finite)
def test_least_cofactor_is_the_smallest_float_that_keeps_the_product(fixed, a, b):
    assume(Fraction(a) * Fraction(b) / Fraction(fixed) < 1e300)
    y = least_cofactor(fixed, a, b)
    assert Fraction(fixed) * Fraction(y) >= Fraction(a) * Fraction(b)
    assert Fraction(fixed) * Fraction(math.nextafter(y, -math.inf)) < Fraction(a) * Fraction(b)


# --- the dex's fair quote ----------------------------------------------------------------------------------


@SLOW
@given(
    st.floats(min_value=1e-6, max_value=1e15),
    st.floats(min_value=1e-6, max_value=1e15),
    fees,
    st.sampled_from(ACTIONS),
    amounts,
)
def test_a_quote_never_lowers_the_product_nor_moves_more_than_the_amount(la, lb, fee, action, amount):
    dex = Dex("dex", "A", "B", la, lb, fee)
    try:
        new_a, new_b, _ = dex.quote(action, amount)
    except SimulationError:
        assert action.startswith("buy") and amount >= (la if action == "buyA" else lb)
        return
    assert Fraction(new_a) * Fraction(new_b) >= Fraction(la) * Fraction(lb)
    named, new_named = (la, new_a) if action.endswith("A") else (lb, new_b)
    moved = abs(Fraction(new_named) - Fraction(named))
    assert moved <= Fraction(amount)  # never gives out more than asked, never takes in more than given
    assert dex.v["la"] == la and dex.v["lb"] == lb  # a quote changes nothing


# --- whole runs: conservation and no value from nothing ----------------------------------------------------


operations = st.one_of(
    st.tuples(st.just("trade"), st.sampled_from(ACTIONS), amounts),
    st.tuples(st.just("collect")),
    st.tuples(st.just("garbage"), st.sampled_from(ACTIONS), amounts),  # a finaliser that trades when collected
    st.tuples(st.just("raise")),  # the player's own exception, caught
    st.tuples(st.just("collect_inside"), st.sampled_from(ACTIONS), amounts),  # the collector runs inside a trade
    st.tuples(st.just("fail_inside"), st.sampled_from(ACTIONS), amounts),  # the pool raises inside a trade
)


def player_for(days):
    """A player that runs day d's operations on day d and records the pool as its turn begins."""

    def fn(i, v, r, s, p):
        r[i] = (p.dex.v["la"], p.dex.v["lb"])
        for operation in days.get(i, ()):
            kind = operation[0]
            if kind == "trade":
                getattr(p.dex, operation[1])(operation[2])
            elif kind == "collect":
                gc.collect()
            elif kind == "garbage":
                garbage(getattr(p.dex, operation[1]), operation[2])
            elif kind == "raise":
                try:
                    raise ValueError("the player's own")
                except ValueError:
                    pass
            else:
                HookedDex.hook = gc.collect if kind == "collect_inside" else fail
                try:
                    getattr(p.dex, operation[1])(operation[2])
                except RuntimeError:
                    pass  # the pool's own failure, caught by the player: the run ends all the same
                finally:
                    HookedDex.hook = None

    return fn


def fail():
    raise RuntimeError("the pool failed inside the trade")


def garbage(action, amount):
    def gen():
        try:
            yield
        finally:
            action(amount)

    running = gen()
    next(running)
    cycle = [running]
    cycle.append(cycle)


def bot(i, v, r, s, p):
    (p.dex.buyA if i % 2 else p.dex.sellA)(3.0 + i % 5)


@SLOW
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@given(
    fees,
    st.sampled_from([(1000, 1000), (100, 50), (1e9, 3e9)]),
    st.booleans(),
    st.dictionaries(st.integers(1, 12), st.lists(operations, max_size=6), max_size=8),
)
def test_any_run_conserves_tokens_exactly_and_gains_only_what_accepted_trades_explain(fee, liquidity, with_bot, days):
    pool = {"tokenA": "AI", "tokenB": "USDC", "liquidityA": liquidity[0], "liquidityB": liquidity[1], "fee": fee}
    slot = {"goal": "g", "comp": "usdc", "wallet": {"USDC": 100, "AI": 0}, "quote": "USDC"}
    slot["actions"] = {"dex": ACTIONS}
    module = types.ModuleType("property_scenario", "A scenario drawn by a property test.")
    players = [{"key": "BOT", "fn": bot}] if with_bot else []
    module.__dict__.update(vars={}, plugins={"dex": HookedDexSpec(**pool)}, players=players, slot=slot)
    scenario = load_scenario(module)
    try:
        outcome = play(scenario, player_for(days), years=12 / 365)
    except SimulationError as exc:
        cause = exc.__cause__ or exc
        # a nested or out-of-turn action, or the pool's own failure inside a trade (which ends the run, since it
        # may have left the trade half done); never a broken invariant
        assert isinstance(cause, InvalidAction | RuntimeError), exc
        assert not isinstance(cause, InvariantViolation)
        return
    finally:
        HookedDex.hook = None
        gc.collect()  # the garbage this run planted is finalised here, not in some later test
    stats, seen = outcome.result.stats, outcome.scratch
    final = outcome.result.res["dex"]
    wallet = outcome.exact_wallet
    bot_flows = [
        Fraction(seen[d][side]) - Fraction(stats[d - 1]["dex"][f]) for d in seen for side, f in enumerate(["la", "lb"])
    ]
    start_ai, start_usdc = Fraction(liquidity[0]), Fraction(liquidity[1]) + 100
    assert Fraction(final["la"]) + wallet["AI"] - sum(bot_flows[0::2]) == start_ai
    assert Fraction(final["lb"]) + wallet["USDC"] - sum(bot_flows[1::2]) == start_usdc
    assert outcome.metrics["usdc"] == floor_float(units_of(wallet["USDC"]))
    if not with_bot:  # only the player moved the pool, never below its curve: it cannot have made anything
        la, lb = Fraction(final["la"]), Fraction(final["lb"])
        assert la * lb >= Fraction(liquidity[0]) * Fraction(liquidity[1])
        unwound = lb - la * lb / (la + wallet["AI"])  # the USDC its AI would fetch, sold back along the curve
        assert wallet["USDC"] + unwound <= 100


def units_of(amount: Fraction) -> int:
    scaled = amount * (1 << 1074)
    assert scaled.denominator == 1
    return scaled.numerator
