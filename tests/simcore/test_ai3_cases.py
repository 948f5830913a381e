"""The AI3 public cases (shared/reference/ai3-public-cases.md): floats to 1e-9 relative, integers exactly."""

from collections.abc import Mapping
from typing import Any

import pytest

import simcore
from simcore.scenarios import ai3_quickstart as quickstart

CASE1_NVARS = {
    "iail": 100,
    "iusdcl": 50,
    "iaip": 0.5,
    "ail": 71,
    "usdcl": 70.4225352112676,
    "aip": 0.991866693116445,
    "buy": 2570,
    "sell": 2541,
    "diff": 0.49186669311644504,
}
CASE1_DAY1 = {
    "i": 1,
    "price": 0.6172839506172839,
    "ai": 90,
    "usdc": 55.55555555555556,
    "total_buy": 10,
    "total_sell": 0,
    "buy": 10,
}


def assert_matches(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """Every expected key is in `actual`: integers equal exactly, floats within 1e-9 relative."""
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, int):
            assert got == want, key
        else:
            assert got == pytest.approx(want, rel=1e-9), key


def _move_pool(r: dict[str, Any], ai_change: int) -> None:
    """The quick guide's x*y pool: $AI liquidity changes by `ai_change`, $USDC keeps ai * usdc."""
    ai = r["ai"] + ai_change
    usdc = r["usdc"] * r["ai"] / ai
    r.update(ai=ai, usdc=usdc, price=usdc / ai)


def strict_buyer(i: int, v: Any, r: dict[str, Any], s: list[dict[str, Any]], p: Any) -> None:
    if r["price"] < 1:
        _move_pool(r, -10)
        r["total_buy"] += 10
        s[i]["buy"] = 10


def strict_seller(i: int, v: Any, r: dict[str, Any], s: list[dict[str, Any]], p: Any) -> None:
    if r["price"] > 1:
        _move_pool(r, 7)
        r["total_sell"] += 7
        s[i]["sell"] = 7


def test_case1_quickstart_one_year():
    result = simcore.simulate("ai3_quickstart", years=1)
    assert set(result.nvars) == set(CASE1_NVARS)
    assert_matches(result.nvars, CASE1_NVARS)
    assert len(result.stats) == 366
    assert set(result.stats[1]) == set(CASE1_DAY1)
    assert_matches(result.stats[1], CASE1_DAY1)


def test_case1_get_reads_v_before_the_run_and_nvars_after_it():
    sim = simcore.Simulator("ai3_quickstart")
    assert sim.get("aip") is None
    assert sim.get("iaip") == pytest.approx(0.5, rel=1e-9)
    sim.simulate(years=1)
    assert sim.get("ail") == 71


def test_case1_strict_thresholds_give_the_same_year(make_scenario):
    strict = make_scenario(
        vars=quickstart.vars,
        before=quickstart.before,
        after=quickstart.after,
        players=[{"key": "BUYER", "fn": strict_buyer}, {"key": "SELLER", "fn": strict_seller}],
    )
    result = simcore.simulate(strict, years=1)
    assert_matches(result.nvars, CASE1_NVARS)
    assert len(result.stats) == 366


def test_case1_half_a_year_runs_183_days():
    result = simcore.simulate("ai3_quickstart", years=0.5)
    assert len(result.stats) == 184
    assert result.stats[-1]["i"] == 183
    assert_matches(result.nvars, {"ail": 77, "aip": 0.8433125316242198})


def test_case2_readme_manual_fuzz_loop():
    best_x, best_aip = None, None
    for x in range(10, 101):
        aip = simcore.simulate("ai3_quickstart", years=1, overrides={"iusdcl": x}).nvars["aip"]
        if best_aip is None or aip > best_aip:
            best_x, best_aip = x, aip
    assert best_x == 25
    assert best_aip == pytest.approx(1.131733816206428, rel=1e-9)
    assert int(best_aip * 100) / 100 == 1.13


@pytest.mark.skipif(not hasattr(simcore, "fuzz"), reason="simcore.fuzz is not written yet")
def test_case3_fuzz_over_two_variables():
    cases = {"iusdcl": range(10, 101), "iail": range(50, 101)}
    result = simcore.fuzz("ai3_quickstart", cases=cases, find={"aip": "max", "diff": "min"}, years=1, workers=1)
    best, lowest = result.winners["aip"], result.winners["diff"]
    assert best.case == {"iusdcl": 10, "iail": 57}
    assert best.value == pytest.approx(1.292517006802721, rel=1e-9)
    assert lowest.case == {"iusdcl": 100, "iail": 50}
    assert lowest.value == pytest.approx(-1.1111111111111112, rel=1e-9)
    table = result.table
    assert len(table) == 91 * 51 == 4641
    assert table[["iusdcl", "iail"]].iloc[0].tolist() == [10, 50]  # the first variable named is the outer loop
    assert table[["iusdcl", "iail"]].iloc[1].tolist() == [10, 51]
    assert table["aip"].max() == pytest.approx(best.value, rel=1e-9)


def test_case4_the_pair_through_the_token_and_dex_plugins():
    result = simcore.simulate("ai3_plugins", years=1)
    assert_matches(
        result.nvars,
        {
            "dex_ai_l": 71,
            "dex_usdc_l": 70.4225352112676,
            "dex_usdc_p": 1.0082,
            "ai_p": 0.991866693116445,
            "ai_fdv": 9918.666931164451,
            "dex_k": 5000,
            "diff": 0.49186669311644504,
            "buy": 2570,
            "sell": 2541,
        },
    )
