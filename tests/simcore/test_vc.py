"""The vc plugin (vesting schedule, selling to a target average), the dex's max_sell, and the vc_unlock scenario."""

from __future__ import annotations

import random
from typing import Any

import pytest

import simcore
from simcore.plugins.dex import Dex
from simcore.plugins.token import Token, TokenSpec
from simcore.plugins.vc import Vc, VcSpec
from simcore.variables import compute

SUPPLY = 1_000_000
SEED = {"round": "Seed", "token": "ai", "per": 10, "val": 200_000, "vesting": 12, "cliff": 3, "sell": 0.4}


def build_vc(**changes: Any) -> Vc:
    """A vc built the way the engine builds it: from computed variables and an earlier token plugin."""
    spec = VcSpec(**{**SEED, **changes})
    variables = {**TokenSpec(ticker="AI", supply=SUPPLY).variables("ai"), **spec.variables("seed")}
    token = Token("ai", "AI", SUPPLY, 0)
    return spec.build("seed", compute(variables), {"ai": token}, random.Random(0))


def pool(fee: float = 0) -> Dex:
    return Dex("dex", "AI", "USDC", 100_000, 50_000, fee)


# the schedule: 10% of 1,000,000 over 12 * 30 days after a 3 * 30-day cliff
TOTAL, CLIFF_DAYS, VESTING_DAYS = 100_000, 90, 360
RATE = TOTAL / VESTING_DAYS


def test_nothing_unlocks_before_or_on_the_last_cliff_day() -> None:
    vc = build_vc()
    assert [vc.unlock(day) for day in range(1, CLIFF_DAYS + 1)] == [0] * CLIFF_DAYS
    assert vc.v == {"locked": TOTAL, "unlocked": 0, "sold": 0, "gain": 0}


def test_each_release_day_releases_the_daily_rate_without_rounding_down() -> None:
    vc = build_vc()
    releases = [vc.unlock(day) for day in range(1, CLIFF_DAYS + VESTING_DAYS)]
    assert releases[CLIFF_DAYS:] == pytest.approx([RATE] * (VESTING_DAYS - 1), rel=1e-9)
    assert int(RATE) != RATE  # 277.77...: AI3's Math.floor would have released 277


def test_releases_sum_exactly_to_the_locked_share_and_the_last_tranche_is_returned() -> None:
    vc = build_vc()
    releases = [vc.unlock(day) for day in range(1, CLIFF_DAYS + VESTING_DAYS + 31)]
    last = CLIFF_DAYS + VESTING_DAYS - 1  # index of the last release day
    assert releases[last] == pytest.approx(RATE, rel=1e-9)  # AI3 returns 0 here
    assert releases[last + 1 :] == [0] * 30
    assert vc.v["unlocked"] == TOTAL == 10 / 100 * SUPPLY
    assert vc.v["locked"] == 0
    assert sum(releases) == pytest.approx(TOTAL, rel=1e-12)


def test_unlock_is_idempotent_for_the_same_or_an_earlier_day() -> None:
    vc = build_vc()
    assert vc.unlock(CLIFF_DAYS + 5) == pytest.approx(5 * RATE, rel=1e-12)  # catches up on days 91-95
    assert vc.unlock(CLIFF_DAYS + 5) == 0
    assert vc.unlock(CLIFF_DAYS + 2) == 0
    assert vc.v["unlocked"] == pytest.approx(5 * RATE, rel=1e-12)
    assert vc.unlock(CLIFF_DAYS + 6) == pytest.approx(RATE, rel=1e-9)


def test_zero_vesting_releases_everything_on_the_first_day_after_the_cliff() -> None:
    vc = build_vc(vesting=0)
    assert vc.unlock(CLIFF_DAYS) == 0
    assert vc.unlock(CLIFF_DAYS + 1) == TOTAL


def test_max_sell_matches_the_constant_product_closed_form() -> None:
    # (lb - P x)(la + (1 - f) x) = la lb  =>  x = lb / P - la / (1 - f)
    for fee in (0, 0.01):
        dex = pool(fee)
        expected = 50_000 / 0.4 - 100_000 / (1 - fee)
        assert dex.max_sell("AI", 0.4) == pytest.approx(expected, rel=1e-9)
        assert dex.max_sell("A", 0.4) == dex.max_sell("ai", 0.4)
    assert pool().max_sell("USDC", 1.0) == pytest.approx(100_000 / 1.0 - 50_000, rel=1e-9)


def test_sell_stops_at_the_target_average() -> None:
    vc, dex = build_vc(), pool()
    vc.unlock(CLIFF_DAYS + VESTING_DAYS)  # all 100,000 available; only 25,000 keep the average at 0.4
    sold = vc.sell(dex)
    assert sold == pytest.approx(25_000, rel=1e-9)
    assert vc.v["gain"] == pytest.approx(50_000 - 100_000 * 50_000 / 125_000, rel=1e-9)  # 10,000 USDC
    assert vc.v["gain"] >= 0.4 * sold
    assert dex.v["la"] == pytest.approx(125_000, rel=1e-12)
    assert vc.sell(dex) == 0  # the price is now below the target: nothing more


def test_sell_is_limited_by_what_is_unlocked() -> None:
    vc, dex = build_vc(), pool()
    vc.unlock(CLIFF_DAYS + 3)
    assert vc.sell(dex) == pytest.approx(3 * RATE, rel=1e-12)
    assert vc.available == pytest.approx(0, abs=1e-9)
    assert dex.v["lb"] == pytest.approx(100_000 * 50_000 / (100_000 + 3 * RATE), rel=1e-12)


def test_no_sale_below_the_target() -> None:
    vc, dex = build_vc(sell=0.6), pool()  # spot 0.5
    vc.unlock(CLIFF_DAYS + 30)
    before = dict(dex.v)
    assert vc.sell(dex) == 0
    assert dex.v == before
    assert vc.v["sold"] == vc.v["gain"] == 0


def test_tokens_are_conserved_across_unlocks_sales_and_buys() -> None:
    vc, dex, rng = build_vc(sell=0.45), pool(), random.Random(7)
    start, bought = dex.v["la"] + vc.v["locked"], 0.0
    for day in range(1, CLIFF_DAYS + VESTING_DAYS + 10):
        vc.unlock(day)
        vc.sell(dex)
        amount = rng.uniform(0, 0.01) * dex.v["la"]
        dex.buyA(amount)
        bought += amount
        assert vc.available + dex.v["la"] + vc.v["locked"] + bought == pytest.approx(start, rel=1e-12)
    assert vc.v["sold"] > 0.5 * TOTAL  # the buyers let the VC sell: the check above saw real sales


def test_max_sell_refuses_an_unknown_token_and_a_non_positive_price() -> None:
    with pytest.raises(simcore.PluginError, match=r"trades AI \(A\) and USDC \(B\), not 'ETH'"):
        pool().max_sell("ETH", 1)
    with pytest.raises(simcore.PluginError, match="min_avg_price must be a positive number"):
        pool().max_sell("AI", 0)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("per", 0, r"'per' \(seed_p\) must be in \(0, 100\]"),
        ("per", 101, r"'per' \(seed_p\) must be in \(0, 100\]"),
        ("val", 0, r"'val' \(seed_v\) must be > 0"),
        ("vesting", -1, r"'vesting' \(seed_vp\) must be 0 to 12000 months"),
        ("cliff", 1e308, r"'cliff' \(seed_c\) must be 0 to 12000 months"),
        ("cliff", float("nan"), r"'cliff' \(seed_c\) must be a finite number"),
        ("sell", -0.5, r"'sell' \(seed_sp\) must be > 0"),
    ],
)
def test_out_of_range_options_are_refused_by_name(option: str, value: Any, message: str) -> None:
    with pytest.raises(simcore.PluginError, match=message):
        build_vc(**{option: value})


def test_the_token_must_be_a_token_plugin_declared_before_the_round() -> None:
    spec = VcSpec(**SEED)
    variables = {**TokenSpec(ticker="AI", supply=SUPPLY).variables("ai"), **spec.variables("seed")}
    with pytest.raises(simcore.PluginError, match=r"'token' must name a token plugin declared before it, got 'ai'"):
        spec.build("seed", compute(variables), {"dex": pool()}, random.Random(0))


SCENARIO = "vc_unlock"


def test_round_variables_and_state_variables() -> None:
    sim = simcore.Simulator(SCENARIO)
    assert sim.get("seed_s") == 10 / 100 * 200_000
    assert sim.get("seed_tp") == 200_000 / 1_000_000
    assert sim.get("seed_gain") is None  # reads the state: unknown before the run
    result = sim.simulate(years=1, seed=3)
    assert result.nvars["seed_gain"] == result.res["seed"]["gain"] > 0
    assert result.nvars["seed_unlocked"] == pytest.approx((365 - CLIFF_DAYS) * RATE, rel=1e-9)


def test_an_override_of_the_share_changes_the_locked_amount() -> None:
    result = simcore.simulate(SCENARIO, years=0, overrides={"seed_p": 25, "ai_its": 2_000_000})
    assert result.res["seed"]["locked"] == 25 / 100 * 2_000_000
    assert result.nvars["seed_tp"] == 200_000 / 2_000_000


def test_the_scenario_is_reproducible_by_seed_and_its_graphs_name_stats_columns() -> None:
    first, again, other = (simcore.simulate(SCENARIO, years=1, seed=seed) for seed in (1, 1, 2))
    assert len(first.stats) == 366
    assert first.stats == again.stats
    assert first.res["dex"] != other.res["dex"]
    columns = set(first.frame().columns)
    module = simcore.load_scenario(SCENARIO)
    keys = [line["key"] for graph in module.graphs for line in graph["lines"]]
    assert set(keys) <= columns


@pytest.mark.parametrize("seed", range(5))
def test_the_scenario_runs_its_two_years_for_any_seed(seed: int) -> None:
    result = simcore.simulate(SCENARIO, seed=seed)
    assert len(result.stats) == 2 * 365 + 1
    assert result.res["seed"]["unlocked"] == TOTAL
