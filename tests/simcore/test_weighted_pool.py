"""The Balancer weighted pool: BMath against hand-computed values, the plugin's trades and limits, its slot market
through the ledger (random action sequences recounted exactly, hostile players that gain nothing), the market
protocol's three tickers, and the component composed into a scenario."""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_markets import (
    DAYS,
    Case,
    Run,
    Spy,
    absolute,
    actions,
    check_scoring,
    plans,
    replay,
    same_outcome,
    units_of,
)

import simcore
from simcore import InvalidAction, SimulationError, Simulator, play, simulate
from simcore.components import WeightedPool as PoolComponent
from simcore.exact import floor_float
from simcore.ledger import Ledger
from simcore.markets import by_letter
from simcore.plugins.base import PluginSpec
from simcore.plugins.weighted import (
    MARGIN,
    PoolRefusedError,
    WeightedPool,
    WeightedPoolMarket,
    WeightedPoolSpec,
    calc_in_given_out,
    calc_out_given_in,
    calc_pool_in_given_single_out,
    calc_pool_out_given_single_in,
    calc_single_in_given_pool_out,
    calc_single_out_given_pool_in,
    calc_spot_price,
)
from simcore.seat import play_match
from simcore.variables import Bounds

TICKERS = ("AI", "USDC", "BPT")
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
EXACT = 1e-15  # a hand-computed value against the float formula: a few ulps


def pool(fee: float = 0.003, weight: float = 0.8, ba: float = 1000.0, bb: float = 4000.0) -> WeightedPool:
    return WeightedPool("pool", "AI", "USDC", "BPT", ba, bb, weight, fee, 100.0)


def log_growth(was: dict[str, float], now: dict[str, float]) -> Decimal:
    """ln of the invariant per share's change, wa ln(ba'/ba) + wb ln(bb'/bb) - ln(s'/s), to 60 digits (the floats
    converted exactly)."""
    with localcontext() as ctx:
        ctx.prec = 60

        def ln(field: str) -> Decimal:
            return (Decimal(now[field]) / Decimal(was[field])).ln()

        return Decimal(now["wa"]) * ln("ba") + Decimal(now["wb"]) * ln("bb") - ln("supply")


# --- Balancer's BMath, by hand ------------------------------------------------------------------------------------


def test_spot_price_is_the_ratio_of_balances_over_weights_and_the_fee_scales_it() -> None:
    # 80/20, 1,000 A and 4,000 B: (4000 / 0.2) / (1000 / 0.8) = 20,000 / 1,250 = 16 B per A
    assert calc_spot_price(4000.0, 0.2, 1000.0, 0.8, 0.0) == pytest.approx(16.0, rel=EXACT)
    assert calc_spot_price(4000.0, 0.2, 1000.0, 0.8, 0.01) == pytest.approx(16.0 / 0.99, rel=EXACT)
    # denormalised weights, as Balancer's (8 and 2 of a total of 10), give the same price
    assert calc_spot_price(4000.0, 2.0, 1000.0, 8.0, 0.0) == pytest.approx(16.0, rel=EXACT)
    p = pool(weight=0.8)
    assert p.v["pa"] == pytest.approx((4000.0 / 0.2) / (1000.0 / 0.8), rel=EXACT)
    assert p.v["pb"] == pytest.approx(1 / 16, rel=EXACT)
    assert PoolComponent(balance_a=1000.0, balance_b=4000.0, weight_a=0.8, swap_fee=0.01).spot_price == pytest.approx(
        16.0 / 0.99, rel=EXACT
    )


def test_swaps_against_hand_computed_values() -> None:
    # 50/50, 1,000 A in 4,000 B, 100 A in: 4000 * (1 - 1000 / 1100) = 4000 * 100 / 1100
    assert calc_out_given_in(1000.0, 0.5, 4000.0, 0.5, 100.0, 0.0) == pytest.approx(4000 * 100 / 1100, rel=EXACT)
    # with a 1 % fee only 99 A count: 4000 * (1 - 1000 / 1099) = 4000 * 99 / 1099
    assert calc_out_given_in(1000.0, 0.5, 4000.0, 0.5, 100.0, 0.01) == pytest.approx(4000 * 99 / 1099, rel=EXACT)
    # 80/20 (A 0.8, B 0.2): 4000 * (1 - (1000 / 1100)^(0.8 / 0.2)) = 4000 * (1 - 10^4 / 11^4) = 4000 * 4641 / 14641
    assert calc_out_given_in(1000.0, 0.8, 4000.0, 0.2, 100.0, 0.0) == pytest.approx(4000 * 4641 / 14641, rel=EXACT)
    # taking 100 A out of the 80/20 pool costs 4000 * ((1000 / 900)^(0.8 / 0.2) - 1) = 4000 * 3439 / 6561 B
    assert calc_in_given_out(4000.0, 0.2, 1000.0, 0.8, 100.0, 0.0) == pytest.approx(4000 * 3439 / 6561, rel=EXACT)
    # 50/50: taking 400 B out costs 1000 * (4000 / 3600 - 1) = 1000 / 9 A, divided by (1 - fee)
    assert calc_in_given_out(1000.0, 0.5, 4000.0, 0.5, 400.0, 0.003) == pytest.approx(1000 / 9 / 0.997, rel=EXACT)


def test_single_asset_joins_and_exits_against_hand_computed_values() -> None:
    # 50/50, 1,000 A, 100 shares, no fee: 210 A mint 100 * ((1210 / 1000)^0.5 - 1) = 100 * (1.1 - 1) = 10 shares
    assert calc_pool_out_given_single_in(1000.0, 0.5, 100.0, 1.0, 210.0, 0.0) == pytest.approx(10.0, rel=EXACT)
    assert calc_single_in_given_pool_out(1000.0, 0.5, 100.0, 1.0, 10.0, 0.0) == pytest.approx(210.0, rel=EXACT)
    # a 10 % fee on the half not matching A's weight: 210 * (1 - 0.5 * 0.1) = 199.5 A count
    assert calc_pool_out_given_single_in(1000.0, 0.5, 100.0, 1.0, 210.0, 0.1) == pytest.approx(
        100 * (math.sqrt(1.1995) - 1), rel=EXACT
    )
    assert calc_single_in_given_pool_out(1000.0, 0.5, 100.0, 1.0, 10.0, 0.1) == pytest.approx(210 / 0.95, rel=EXACT)
    # 80/20: 100 A (weight 0.8) at a 1 % fee: 100 * (1 - 0.2 * 0.01) = 99.8 count, 100 * (1.0998^0.8 - 1) shares
    assert calc_pool_out_given_single_in(1000.0, 0.8, 100.0, 1.0, 100.0, 0.01) == pytest.approx(
        100 * (1.0998**0.8 - 1), rel=1e-13
    )
    # and 400 B (weight 0.2): 400 * (1 - 0.8 * 0.01) = 396.8 count; denormalised weights (2 of 10) agree
    joined = 100 * ((4396.8 / 4000) ** 0.2 - 1)
    assert calc_pool_out_given_single_in(4000.0, 0.2, 100.0, 1.0, 400.0, 0.01) == pytest.approx(joined, rel=1e-13)
    assert calc_pool_out_given_single_in(4000.0, 2.0, 100.0, 10.0, 400.0, 0.01) == pytest.approx(joined, rel=1e-13)
    # exits: burning 10 of 100 shares for A at 50/50 pays 1000 * (1 - 0.9^2) = 190 A, less 0.5 * 10 % with a fee
    assert calc_single_out_given_pool_in(1000.0, 0.5, 100.0, 1.0, 10.0, 0.0) == pytest.approx(190.0, rel=EXACT)
    assert calc_single_out_given_pool_in(1000.0, 0.5, 100.0, 1.0, 10.0, 0.1) == pytest.approx(180.5, rel=EXACT)
    assert calc_pool_in_given_single_out(1000.0, 0.5, 100.0, 1.0, 180.5, 0.1) == pytest.approx(10.0, rel=EXACT)
    # 80/20, for A: 1000 * (1 - 0.9^(1 / 0.8)) * (1 - 0.2 * 0.01)
    out = 1000 * (1 - 0.9**1.25) * (1 - 0.2 * 0.01)
    assert calc_single_out_given_pool_in(1000.0, 0.8, 100.0, 1.0, 10.0, 0.01) == pytest.approx(out, rel=1e-13)
    assert calc_pool_in_given_single_out(1000.0, 0.8, 100.0, 1.0, out, 0.01) == pytest.approx(10.0, rel=1e-13)
    # burning the whole supply for one token pays its whole balance, less the fee
    assert calc_single_out_given_pool_in(1000.0, 0.5, 100.0, 1.0, 100.0, 0.1) == pytest.approx(950.0, rel=EXACT)


def test_the_component_is_bmath_on_its_parameters() -> None:
    c = PoolComponent(balance_a=1000.0, balance_b=4000.0, weight_a=0.8, swap_fee=0.01, supply=100.0)
    assert c.version == 2 and c.kind == "weighted_pool" and c.ref().startswith("weighted_pool@2#")
    assert c.out_given_in("A", 100.0) == calc_out_given_in(1000.0, 0.8, 4000.0, c.weights[1], 100.0, 0.01)
    assert c.out_given_in("usdc", 100.0) == calc_out_given_in(4000.0, c.weights[1], 1000.0, 0.8, 100.0, 0.01)
    assert c.in_given_out("TKN", 100.0) == calc_in_given_out(4000.0, c.weights[1], 1000.0, 0.8, 100.0, 0.01)
    assert c.pool_out_given_single_in("A", 100.0) == pytest.approx(100 * (1.0998**0.8 - 1), rel=1e-13)
    shares = c.pool_out_given_single_in("B", 400.0)
    assert c.single_in_given_pool_out("B", shares) == pytest.approx(400.0, rel=1e-12)
    assert c.pool_in_given_single_out("A", c.single_out_given_pool_in("A", 10.0)) == pytest.approx(10.0, rel=1e-12)
    assert c.invariant_per_share == pytest.approx(1000.0**0.8 * 4000.0**0.2 / 100.0, rel=EXACT)
    assert sum(c.weights) == 1  # exactly, as the plugin holds them
    minted, joined = c.join("A", 100.0)
    assert joined.supply == 100.0 + minted and joined.balance_a == 1100.0
    assert joined.invariant_per_share >= c.invariant_per_share  # the fee stays with the shares
    with pytest.raises(ValueError, match="half of the balance in"):
        c.swap("A", 500.1)
    with pytest.raises(ValueError, match="a third of the balance out"):
        c.exit("B", 30.0)  # 4000 * (1 - 0.7^5) * ... is far above a third


def test_a_fee_less_swap_keeps_the_invariant_and_a_fee_grows_it() -> None:
    free, paid = pool(fee=0.0), pool(fee=0.01)
    for p in (free, paid):
        was = dict(p.v)
        p.swap_in("A", 100.0)
        p.swap_out("B", 50.0)
        growth = log_growth(was, p.v)
        assert growth > 0  # rounding against the trader: never below, even without a fee
        if p is free:
            assert growth < 4 * MARGIN and p.v["invariant"] == pytest.approx(was["invariant"], rel=1e-11)
        else:
            assert growth > Decimal("1e-4")  # about 1 % of a trade of about 10 % of the pool, kept
            assert p.v["invariant"] > was["invariant"]


@pytest.mark.parametrize("fee", [0.0, 0.003, 0.1])
@pytest.mark.parametrize("token", ["A", "B"])
def test_a_join_then_an_exit_of_the_same_shares_returns_no_more_than_was_paid(fee: float, token: str) -> None:
    p = pool(fee=fee)
    before = dict(p.v)
    shares = p.join("lp", token, 100.0)
    back = p.exit("lp", token, shares)
    assert back < 100.0  # by MARGIN's rounding without a fee
    if fee:
        assert back < 100.0 * (1 - fee * 0.19)  # the fee on the part not matching the weight, both ways
    else:
        assert back == pytest.approx(100.0, rel=1e-11)
    assert p.shares_of("lp") == 0.0 and p.v["supply"] == pytest.approx(before["supply"], rel=1e-15)
    assert log_growth(before, p.v) > 0


def test_a_proportional_join_and_exit_keep_the_price() -> None:
    p = pool(fee=0.003)
    price, per_share = p.v["pa"], p.v["invariant"] / p.v["supply"]
    a_in, b_in = p.join_all("lp", 10.0)
    assert a_in == pytest.approx(100.0, rel=1e-11) and b_in == pytest.approx(400.0, rel=1e-11)  # a tenth of each
    assert p.v["pa"] == pytest.approx(price, rel=1e-13) and p.shares_of("lp") == 10.0
    a_out, b_out = p.exit_all("lp", 10.0)
    assert a_out < a_in and b_out < b_in and a_out == pytest.approx(a_in, rel=1e-11)
    assert p.v["pa"] == pytest.approx(price, rel=1e-13)
    assert p.v["invariant"] / p.v["supply"] >= per_share


def test_setting_the_weight_moves_the_price_not_the_balances() -> None:
    p = pool(weight=0.8)
    p.set_weight(0.5)
    assert (p.v["ba"], p.v["bb"], p.v["wa"], p.v["wb"]) == (1000.0, 4000.0, 0.5, 0.5)
    assert p.v["pa"] == pytest.approx(4.0, rel=EXACT)  # from 16: a liquidity-bootstrapping pool's falling price
    p.set_weight(0.3)
    assert p.v["wa"] + p.v["wb"] == 1 and p.v["wa"] == pytest.approx(0.3, abs=2**-54)
    p.set_fee(0.05)
    assert p.v["fee"] == 0.05
    for bad in (0.01, 0.99, math.nan, True, "0.5"):
        with pytest.raises(simcore.PluginError, match=r"pool\.set_weight"):
            p.set_weight(bad)
    for bad in (-0.01, 0.11, math.inf):
        with pytest.raises(simcore.PluginError, match=r"pool\.set_fee"):
            p.set_fee(bad)


def test_balancers_ratio_limits_refuse_and_allow_exactly_the_limit() -> None:
    p = pool()
    p.swap_in("A", 500.0)  # exactly half of the A balance in
    p = pool()
    with pytest.raises(PoolRefusedError, match="more than half of the pool's AI in"):
        p.swap_in("ai", math.nextafter(500.0, math.inf))
    p.swap_out("A", 1000.0 / 3)  # a third of the A balance out
    p = pool()
    with pytest.raises(PoolRefusedError, match="more than a third of the pool's AI out"):
        p.swap_out("A", math.nextafter(1000.0 / 3, math.inf))
    with pytest.raises(PoolRefusedError, match="MAX_IN_RATIO"):
        p.join("lp", "B", 2000.5)
    with pytest.raises(PoolRefusedError, match="MAX_OUT_RATIO"):
        p.exit("creator", "A", 30.0)  # 1000 * (1 - 0.7^1.25) A: past a third
    with pytest.raises(PoolRefusedError, match="whole supply"):
        p.exit_all("creator", 100.0)
    with pytest.raises(simcore.PluginError, match=re.escape("'nobody' holds 0.0 BPT")):
        p.exit("nobody", "A", 1.0)
    assert p.v == pool().v  # nothing refused moved it


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 0, True, "1", None])
@pytest.mark.parametrize("call", ["swap_in", "swap_out", "join", "exit", "join_all", "exit_all"])
def test_a_bad_amount_raises_a_plugin_error_naming_the_action(call: str, bad: Any) -> None:
    p = pool()
    args = {"swap_in": ("A", bad), "swap_out": ("A", bad), "join": ("creator", "A", bad)}
    args |= {"exit": ("creator", "A", bad), "join_all": ("creator", bad), "exit_all": ("creator", bad)}
    with pytest.raises(simcore.PluginError, match=re.escape(f"pool.{call}:")):
        getattr(p, call)(*args[call])
    assert p.v == pool().v


def test_swaps_count_in_the_volumes_and_joins_and_exits_do_not() -> None:
    p = pool(fee=0.0)
    received = p.swap_in("A", 100.0)
    paid = p.swap_out("A", 10.0)
    assert p.v["volume_a"] == pytest.approx(110.0) and p.v["volume_b"] == pytest.approx(received + paid)
    volumes = p.v["volume_a"], p.v["volume_b"]
    p.join("lp", "A", 10.0)
    p.exit("lp", "B", p.shares_of("lp"))
    assert (p.v["volume_a"], p.v["volume_b"]) == volumes


def test_tokens_are_named_by_side_or_ticker_in_any_case() -> None:
    p = pool()
    assert [p.side_of(t) for t in ("A", "a", "AI", "ai", "B", "b", "USDC", "Usdc")] == ["A"] * 4 + ["B"] * 4
    with pytest.raises(simcore.PluginError, match=re.escape("trades AI (A) and USDC (B), not 'BPT'")):
        p.side_of("BPT")


def test_the_spec_generates_the_dex_style_variables_and_refuses_repeated_tickers() -> None:
    spec = WeightedPoolSpec(tokenA="ai", tokenB="usdc", balanceA=1000, balanceB=4000, weightA=0.8)
    assert PluginSpec.registry["weighted_pool"] is WeightedPoolSpec and spec.tickers() == TICKERS
    names = set(spec.variables("pool"))
    assert {"pool_ai_ib", "pool_usdc_ib", "pool_ai_iw", "pool_usdc_iw", "pool_fee", "pool_is"} <= names
    assert {"pool_ai_b", "pool_usdc_b", "pool_ai_p", "pool_usdc_p", "pool_ai_ip", "pool_s", "pool_inv"} <= names
    with pytest.raises(simcore.PluginError, match="three tickers"):
        WeightedPoolSpec(tokenA="AI", tokenB="USDC", balanceA=1, balanceB=1, shares="ai").variables("pool")


# --- the market protocol with three tickers -----------------------------------------------------------------------


def test_the_markets_texts_name_all_three_tickers() -> None:
    names = by_letter(TICKERS)
    assert names == {"a": "AI", "b": "USDC", "c": "BPT"}
    summary = WeightedPoolMarket.summary.format(key="pool", **names)
    assert "trading AI (token A) against USDC (token B)" in summary and "pool shares BPT" in summary
    docs = {name: action.doc.format(**names) for name, action in WeightedPoolMarket.actions.items()}
    assert docs["joinB"].startswith("pay `amount` USDC from your wallet into the pool for new BPT")
    assert docs["exitA"].startswith("return `shares` BPT from your wallet to the pool for AI")
    assert docs["sellB"] == "sell `amount` USDC from your wallet to the pool for AI; returns minus the AI received."
    assert not any("{" in doc for doc in docs.values())
    units = {name: WeightedPoolMarket.units(name, TICKERS) for name in WeightedPoolMarket.actions}
    assert units["buyA"] == ("AI", "USDC") and units["sellB"] == ("USDC", "AI")
    assert units["joinA"] == ("AI", "BPT") and units["exitB"] == ("BPT", "USDC")
    assert [line["key"] for line in WeightedPoolMarket.lines("pool", TICKERS)] == ["pool.ba", "pool.bb", "pool.supply"]


def test_the_ledger_settles_every_ticker_and_refuses_one_way_moves() -> None:
    p = pool()
    market = WeightedPoolMarket(p, TICKERS, "me")
    ledger = Ledger({"AI": 100, "USDC": 100, "BPT": 0}, {"pool": market})
    assert ledger.trade("pool", "exitA", (1.0,)) is None and ledger.refusal == "not enough BPT"
    assert ledger.trade("pool", "buyA", (50.0,)) is None and ledger.refusal == "not enough USDC"
    # an ulp of A in mints less than half an ulp of shares: the pool would take and give nothing
    assert ledger.trade("pool", "joinA", (math.ulp(1000.0),)) is None
    assert ledger.refusal == "too small to move the market"
    assert ledger.trade("pool", "joinA", (1e-300,)) is None and ledger.refusal == "too small to move the market"
    assert ledger.trade("pool", "sellA", (600.0,)) is None and "MAX_IN_RATIO" in ledger.refusal
    minted = ledger.trade("pool", "joinA", (10.0,))
    assert minted is not None and ledger.view == {"AI": 90.0, "USDC": 100.0, "BPT": minted}
    got = ledger.trade("pool", "exitB", (minted / 2,))
    assert got is not None and ledger.view["USDC"] == 100.0 + got
    paid = ledger.trade("pool", "buyA", (1.0,))
    assert paid is not None and ledger.view["AI"] == 91.0 and ledger.view["USDC"] == pytest.approx(100.0 + got - paid)
    ledger.close("the end")  # the recount of all three tickers holds
    assert market.reserves() == (p.v["ba"], p.v["bb"], -p.v["supply"])


# --- the market through a seat ------------------------------------------------------------------------------------

SLOT = {
    "goal": "End with the most value in USDC, trading and providing liquidity in the pool.",
    "comp": "value",
    "wallet": {"AI": 1000, "USDC": 1000, "BPT": 0},
    "quote": "USDC",
    "actions": {"pool": tuple(WeightedPoolMarket.actions)},
    "observe": {"price": "pool.pa"},
}


def traders(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """Swap a random share (0.1 % to 10 %) of a random side's balance in."""
    rng, pool_ = p["rng"], p.pool
    side = rng.choice("AB")
    pool_.swap_in(side, rng.uniform(0.001, 0.1) * pool_.v["ba" if side == "A" else "bb"])


def providers(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """Join with a random token, or exit some of the shares joined into a random token."""
    rng, pool_ = p["rng"], p.pool
    side = rng.choice("AB")
    if rng.random() < 0.6 or pool_.shares_of("lp") == 0:
        pool_.join("lp", side, rng.uniform(0.001, 0.03) * pool_.v["ba" if side == "A" else "bb"])
    else:
        pool_.exit("lp", side, rng.uniform(0.1, 1.0) * pool_.shares_of("lp"))


def bootstrap(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """A liquidity-bootstrapping schedule: A's weight falls from 0.8 by 0.05 a day."""
    p.pool.set_weight(0.8 - 0.05 * i)


def pool_scenario(
    background: bool = True, fee: float = 0.003, wallet: dict | None = None, seats: int = 1
) -> simcore.Scenario:
    """A 80/20 pool of 40,000 AI and 2,500 USDC (AI at 0.25 USDC), the slot (`seats` of it) trading on it with every
    action."""
    module = types.ModuleType("weighted_pool_game", "A weighted pool of AI and USDC, traded and joined.")
    module.plugins = {
        "pool": {
            "type": "weighted_pool", "tokenA": "AI", "tokenB": "USDC", "balanceA": 40_000, "balanceB": 2_500,
            "weightA": 0.8, "fee": fee,
        },
    }  # fmt: skip
    players = [("TRADERS", traders), ("PROVIDERS", providers), ("LBP", bootstrap)]
    module.players = [{"key": key, "fn": fn} for key, fn in players] if background else []
    module.slot = {**SLOT, "wallet": wallet or SLOT["wallet"], "seats": seats}
    return simcore.load_scenario(module)


def pool_state(spy: Spy) -> dict[str, Any]:
    return {**spy.plugin.v, "accounts": dict(spy.plugin.accounts)}


fractions_ = st.one_of(st.sampled_from([1.0, 0.5, 1 / 3, 0.1, 1e-6]), st.floats(min_value=1e-9, max_value=1.0))
tokens = st.one_of(
    absolute,
    st.tuples(st.just("wallet"), st.sampled_from(["AI", "USDC"]), fractions_),
    st.tuples(st.just("state"), st.sampled_from(["ba", "bb"]), fractions_),
)
pool_shares = st.one_of(
    absolute,
    st.tuples(st.just("wallet"), st.just("BPT"), fractions_),
    st.tuples(st.just("state"), st.just("supply"), fractions_),
)
OPS = actions(
    {
        **dict.fromkeys(("buyA", "sellA", "buyB", "sellB", "joinA", "joinB"), (tokens,)),
        **dict.fromkeys(("exitA", "exitB"), (pool_shares,)),
    }
)


def check_conservation(run: Run) -> None:
    """The wallet moved by exactly what left the pool for the seat, in each of the three tickers, recounted from
    every call's reserves (the pool collects nothing); no balance negative; the floats shown rounded down."""
    outcome, spy, trace = run.outcome, run.spy, run.trace
    assert spy.tickers == TICKERS and len(trace.opened) == DAYS and spy.closing is not None
    assert [start for start, _ in spy.turn_starts] == trace.opened  # no collection moved it
    for n, ticker in enumerate(TICKERS):
        recount = sum(Fraction(step.before[n]) - Fraction(step.after[n]) for step in trace.steps)
        assert outcome.exact_wallet[ticker] - Fraction(run.slot.wallet[ticker]) == recount, ticker
    for ticker, exact in outcome.exact_wallet.items():
        assert exact >= 0 and outcome.wallet[ticker] == floor_float(units_of(exact))


def check_pool(run: Run) -> None:
    """Every executed call grew the pool's invariant per share (exactly, to 60 digits), moved the side it names by
    at most its amount (a buy, sale or join) or burned at most the shares named (an exit), and left what it does
    not trade alone; and the shares in existence are the background accounts' plus the seat's."""
    for step in run.trace.steps:
        if step.result == 0.0:
            continue
        was, now = step.was, step.now
        assert log_growth(was, now) > 0, step
        kind, side = step.name[:-1], step.name[-1]
        named, other = ("ba", "bb") if side == "A" else ("bb", "ba")
        amount = Fraction(step.args[0])
        if kind == "exit":
            assert 0 < Fraction(was["supply"]) - Fraction(now["supply"]) <= amount, step
        else:
            assert 0 < abs(Fraction(now[named]) - Fraction(was[named])) <= amount, step
        untouched = "supply" if kind in ("buy", "sell") else other
        assert now[untouched] == was[untouched], step
    final = run.spy.plugin
    held = sum(final.accounts.values()) + run.outcome.wallet["BPT"]
    assert held == pytest.approx(final.v["supply"], rel=1e-12)


@PROPERTY
@given(data=st.data())
def test_random_action_sequences_conserve_every_ticker_and_never_lower_the_invariant_per_share(data: st.DataObject):
    case = Case(pool_scenario(), OPS, pool_state)  # type: ignore[arg-type]
    plan = data.draw(plans(OPS), label="plan")
    seed = data.draw(st.integers(0, 3), label="seed")
    run = replay(case, plan, seed)
    check_conservation(run)
    check_scoring(run)
    check_pool(run)
    assert same_outcome(run.outcome, replay(case, plan, seed).outcome)


def test_a_player_that_trades_every_way_scores_its_wallet_at_what_the_pool_pays() -> None:
    def player(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        pool_ = p.pool
        pool_.buyA(100)
        pool_.sellB(5)
        pool_.joinB(50)
        pool_.exitA(v["wallet"]["BPT"] / 2)
        pool_.joinA(200)

    outcome = play(pool_scenario(), player, years=10 / 365, seed=1)
    assert outcome.metrics["actions"] == 50 and outcome.metrics["refused"] == 0
    wallet = outcome.wallet
    assert wallet["BPT"] > 0
    final = outcome.result.res["pool"]
    market = WeightedPoolMarket(pool_from(final), TICKERS, "player")
    worth = wallet["USDC"] + market.worth("AI", wallet["AI"], "USDC") + market.worth("BPT", wallet["BPT"], "USDC")
    assert outcome.metrics["value"] == worth
    assert market.worth("USDC", 10.0, "AI") == -market.quote("sellB", (10.0,)).result
    assert market.worth("AI", 10.0, "BPT") == market.quote("joinA", (10.0,)).result
    assert market.worth("AI", 10.0, "DOGE") is None and market.worth("AI", 0.0, "USDC") == 0.0


def pool_from(state: dict[str, float]) -> WeightedPool:
    """A live pool at a state read from a run's `res`."""
    p = WeightedPool("pool", "AI", "USDC", "BPT", state["ba"], state["bb"], state["wa"], state["fee"], state["supply"])
    assert (p.v["wa"], p.v["wb"]) == (state["wa"], state["wb"])
    return p


# --- hostile players ----------------------------------------------------------------------------------------------

DUST = (5e-324, 1e-300, 1e-12, 3e-9, 1e-6, 0.1, 1 / 3, 7.77, 123.4)


def then(action: Callable[[float], float], amount: float) -> float:
    """`action(amount)` when the amount is one the slot takes (the first leg may have been refused), else 0."""
    return action(amount) if 0 < amount <= 1e9 else 0.0


ROUND_TRIPS: dict[str, Callable[[Any, Any, float], Any]] = {
    "join A, exit A": lambda pool_, v, x: (pool_.joinA(x), then(pool_.exitA, v["wallet"]["BPT"])),
    "join B, exit B": lambda pool_, v, x: (pool_.joinB(x), then(pool_.exitB, v["wallet"]["BPT"])),
    "join A, exit B": lambda pool_, v, x: (pool_.joinA(x), then(pool_.exitB, v["wallet"]["BPT"])),
    "sell A, buy A": lambda pool_, v, x: (pool_.sellA(x), pool_.buyA(x)),
    "buy B, sell B": lambda pool_, v, x: (pool_.buyB(x), then(pool_.sellB, v["wallet"]["USDC"] - 1000)),
    "sell A, buy back the B": lambda pool_, v, x: then(pool_.buyA, -pool_.sellA(x) * 0.999 / pool_.v["pa"]),
}


def hold(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """The honest baseline: trades nothing."""


@pytest.mark.parametrize("fee", [0.0, 0.003])
@pytest.mark.parametrize("trip", ROUND_TRIPS)
def test_round_trip_dust_farming_gains_nothing(trip: str, fee: float) -> None:
    def farmer(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        for k in range(5):
            ROUND_TRIPS[trip](p.pool, v, DUST[(i + k) % len(DUST)])

    scenario = pool_scenario(background=False, fee=fee)
    outcome = play(scenario, farmer, years=9 / 365)
    start = {ticker: Fraction(amount) for ticker, amount in SLOT["wallet"].items()}
    end = outcome.exact_wallet
    assert outcome.metrics["actions"] > 0
    assert not (all(end[t] >= start[t] for t in TICKERS) and any(end[t] > start[t] for t in TICKERS)), end
    assert outcome.metrics["value"] <= play(scenario, hold, years=9 / 365).metrics["value"]
    final = outcome.result.res["pool"]
    initial = pool_from({"ba": 40_000.0, "bb": 2_500.0, "wa": 0.8, "wb": final["wb"], "fee": fee, "supply": 100.0})
    assert log_growth(initial.v, final) > 0  # whatever the farmer did, a share owns more than it did


def test_amounts_at_balancers_limits_execute_and_past_them_are_refused_softly() -> None:
    def player(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        pool_, after = p.pool, math.nextafter
        r["half in"] = pool_.sellA(pool_.v["ba"] / 2)
        r["past half in"] = pool_.sellA(after(pool_.v["ba"] / 2, math.inf))
        r["third out"] = pool_.buyB(pool_.v["bb"] / 3)
        r["past third out"] = pool_.buyB(after(pool_.v["bb"] / 3, math.inf))
        r["join half"] = pool_.joinB(pool_.v["bb"] / 2)
        r["past join half"] = pool_.joinB(after(pool_.v["bb"] / 2, math.inf))
        r["exit all"] = pool_.exitA(v["wallet"]["BPT"])
        r["whole supply"] = pool_.exitB(1e9)
        r["all of a side"] = pool_.buyA(pool_.v["ba"])

    outcome = play(pool_scenario(background=False, wallet={"AI": 1e6, "USDC": 1e6, "BPT": 0}), player, years=1 / 365)
    done = outcome.scratch
    assert all(done[name] != 0.0 for name in ("half in", "third out", "join half", "exit all")), done
    assert all(done[name] == 0.0 for name in ("past half in", "past third out", "past join half", "whole supply"))
    assert done["all of a side"] == 0.0 and outcome.metrics["refused"] == 5
    reasons = " ".join(outcome.log.refusals)
    for limit in ("MAX_IN_RATIO", "MAX_OUT_RATIO", "whole supply of BPT"):
        assert limit in reasons


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1.0, 0, 0.0, True, False, "1", None, 2e9])
@pytest.mark.parametrize("action", ["sellA", "joinB", "exitA"])
def test_a_malformed_amount_is_an_invalid_action_that_ends_the_run(action: str, bad: Any) -> None:
    def player(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        getattr(p.pool, action)(bad)

    with pytest.raises(SimulationError) as excinfo:
        play(pool_scenario(background=False), player, years=1 / 365)
    assert isinstance(excinfo.value.__cause__, InvalidAction)
    assert f"pool.{action}" in str(excinfo.value.__cause__)


def test_joining_with_everything_on_the_last_day_scores_no_more_than_holding() -> None:
    def joiner(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        if i == 5:
            p.pool.joinB(v["wallet"]["USDC"])
            p.pool.joinA(v["wallet"]["AI"])

    scenario = pool_scenario()
    joined = play(scenario, joiner, years=5 / 365, seed=2)
    assert joined.wallet["BPT"] > 0 and joined.wallet["USDC"] < 1e-9 and joined.wallet["AI"] < 1e-9  # all taken in
    # but a rounded-down ulp or so (a join takes at most the amount named)
    assert joined.metrics["value"] < play(scenario, hold, years=5 / 365, seed=2).metrics["value"]


# --- the component in a scenario ---------------------------------------------------------------------------------

COMPOSED = '''"""A 90/10 OCEAN pool composed from the weighted_pool component, with a buyer."""
from simcore.components import WeightedPool

components = {
    "pool": WeightedPool(
        token_a="OCEAN", token_b="USDC", balance_a=90_000, balance_b=10_000, weight_a=0.9, swap_fee=0.001
    ),
}


def buyer(i, v, r, s, p):
    p.pool.swap_out("OCEAN", 10)


players = [{"key": "BUYER", "fn": buyer}]
slot = {
    "goal": "End with the most USDC.",
    "comp": "usdc",
    "wallet": {"USDC": 100, "OCEAN": 0, "BPT": 0},
    "quote": "USDC",
    "actions": {"pool": ("buyA", "sellA", "joinB", "exitB")},
    "observe": {"price": "pool.pa"},
}
'''


@pytest.fixture
def composed(tmp_path: Path) -> Path:
    path = tmp_path / "ocean_pool.py"
    path.write_text(COMPOSED)
    return path


def test_a_composed_pool_runs_as_the_plugin_and_its_variables_move_it(composed: Path) -> None:
    scenario = simcore.load_scenario(composed)
    component = PoolComponent(
        token_a="OCEAN", token_b="USDC", balance_a=90_000, balance_b=10_000, weight_a=0.9, swap_fee=0.001
    )
    assert scenario.components == {"pool": component.ref()} and scenario.plugins["pool"].kind == "weighted_pool"
    variables = scenario.variables
    assert variables["pool_ocean_ib"].bounds == Bounds(1e-12, 1e15)
    assert variables["pool_ocean_iw"].bounds == Bounds(0.02, 0.98) and variables["pool_fee"].bounds == Bounds(0, 0.1)
    assert variables["pool_ocean_ib"].desc == "Pool balance of token A."
    assert Simulator(composed).get("pool_ocean_ip") == pytest.approx(1.0)  # (10,000 / 0.1) / (90,000 / 0.9)
    assert Simulator(composed, {"pool_ocean_ib": 45_000}).get("pool_ocean_ip") == pytest.approx(2.0)
    base = simulate(composed, years=10 / 365)
    assert base.nvars["pool_ocean_b"] == pytest.approx(90_000 - 100)  # the buyer took 10 OCEAN a day
    assert base.nvars["pool_ocean_p"] > 1.0 and base.nvars["pool_s"] == 100.0
    moved = simulate(composed, years=10 / 365, overrides={"pool_ocean_iw": 0.5, "pool_is": 1000, "pool_fee": 0.1})
    assert moved.res["pool"]["wa"] == 0.5 and moved.res["pool"]["fee"] == 0.1 and moved.nvars["pool_s"] == 1000.0
    assert moved.nvars["pool_ocean_ip"] == pytest.approx(1 / 9)  # (10,000 / 0.5) / (90,000 / 0.5)
    # the buyer's 100 OCEAN cost about 100 USDC at 90/10 and 1 / 9 as much, and a 10 % fee, at 50/50
    assert base.nvars["pool_usdc_b"] - 10_000 == pytest.approx(100 / 0.999, rel=0.01)
    assert moved.nvars["pool_usdc_b"] - 10_000 == pytest.approx(100 / 9 / 0.9, rel=0.01)
    with pytest.raises(SimulationError, match="outside the bounds"):
        simcore.fuzz(composed, {"pool_ocean_iw": [0.5, 0.99]}, {"pool_inv": "max"}, 2 / 365)


def test_a_composed_pool_is_a_slot_market(composed: Path) -> None:
    def player(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        if i == 1:
            p.pool.joinB(50)
        if i == 5:
            p.pool.exitB(v["wallet"]["BPT"])

    outcome = play(composed, player, years=10 / 365)
    assert outcome.metrics["actions"] == 2 and outcome.wallet["BPT"] == 0
    assert outcome.wallet["USDC"] == pytest.approx(100, rel=0.01)  # its 50 back, and its share of the pool's move


def test_an_arenas_seats_share_the_pool_each_with_its_own_wallet_and_audit() -> None:
    scenario = pool_scenario(background=False, seats=2)

    def joiner(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        p.pool.joinB(10)
        if i % 2 == 0:
            p.pool.exitA(v["wallet"]["BPT"] / 2)

    def swapper(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        p.pool.sellA(20)
        p.pool.buyB(3)

    first, second = play_match(scenario, [joiner, swapper], seed=1, years=6 / 365)
    assert not isinstance(first, BaseException) and not isinstance(second, BaseException)
    assert first.metrics["actions"] == 9 and second.metrics["actions"] == 12
    assert first.wallet["BPT"] > 0 and second.wallet["BPT"] == 0
    final = first.result.res["pool"]
    assert final["supply"] == pytest.approx(100.0 + first.wallet["BPT"], rel=1e-12)  # the seats' shares are theirs
