"""The bonding plugin (curve integrals, buys, sells, spends, the reserve invariant) and the bonding_curve scenario."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from scipy.integrate import quad

import simcore
from simcore.plugins.bonding import Bonding, BondingSpec, Curve, Exponential, Linear, Sigmoid
from simcore.plugins.token import Token, TokenSpec
from simcore.variables import compute

CURVES = [Linear(a=0.5, b=2e-4), Exponential(a=0.1, b=3e-4), Sigmoid(cap=2.0, b=1e-3, mid=5_000)]
CURVE_IDS = ["linear", "exponential", "sigmoid"]


def build(**options: Any) -> Bonding:
    """A bonding plugin built the way the engine builds it, linked to a token `tok` of supply 1,000."""
    spec = BondingSpec(**{"curve": "linear", "a": 1, "b": 0.01, "supply": 1_000, "token": "tok", **options})
    variables = {**TokenSpec(ticker="TOK", supply=1_000).variables("tok"), **spec.variables("bond")}
    token = Token("tok", "TOK", 1_000, 0)
    return spec.build("bond", compute(variables), {"tok": token}, random.Random(0))


@pytest.mark.parametrize("curve", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize(("lo", "hi"), [(0, 1_000), (1_000, 9_000), (4_990, 5_010), (8_000, 3_000)])
def test_integral_matches_numerical_quadrature(curve: Curve, lo: float, hi: float) -> None:
    expected, _ = quad(curve.price, lo, hi, epsabs=0, epsrel=1e-13)
    assert curve.integral(lo, hi) == pytest.approx(expected, rel=1e-10)


def test_sigmoid_integral_is_stable_far_from_the_midpoint() -> None:
    steep = Sigmoid(cap=1.0, b=1.0, mid=0)
    assert steep.integral(1_000, 1_010) == pytest.approx(10, rel=1e-12)  # price is cap out there
    # far below, the price is about cap * e^(s - mid): the area is e^-50 - e^-60, tiny but exact in relative terms
    assert steep.integral(-60, -50) == pytest.approx(math.exp(-50) - math.exp(-60), rel=1e-9)


@pytest.mark.parametrize("curve", CURVES, ids=CURVE_IDS)
def test_buy_then_sell_returns_the_reserve_to_its_start(curve: Curve) -> None:
    bond = Bonding("bond", curve, 2_000)
    start = dict(bond.v)
    cost = bond.buy(1_500)
    assert cost == pytest.approx(quad(curve.price, 2_000, 3_500, epsrel=1e-13)[0], rel=1e-10)
    assert bond.sell(1_500) == pytest.approx(cost, rel=1e-12)
    assert bond.v == pytest.approx(start, rel=1e-12)


@pytest.mark.parametrize("curve", CURVES, ids=CURVE_IDS)
def test_the_reserve_stays_the_integral_up_to_the_supply(curve: Curve) -> None:
    bond, rng = Bonding("bond", curve, 500), random.Random(11)
    for _ in range(300):
        action = rng.choice(["buy", "sell", "spend"])
        amount = rng.uniform(0.001, 1) * bond.v["supply"] if action == "sell" else rng.uniform(1, 400)
        getattr(bond, action)(amount)
        supply = bond.v["supply"]
        assert bond.v["reserve"] == pytest.approx(curve.integral(0, supply), rel=1e-9)
        assert bond.price == pytest.approx(curve.price(supply), rel=1e-12)
        assert bond.v["mc"] == pytest.approx(supply * curve.price(supply), rel=1e-12)


SPEND_CURVES = [*CURVES, Linear(a=0, b=1e-3), Linear(a=0.7, b=0), Exponential(a=0.3, b=0), Sigmoid(1, 1e-2, 1e6)]


@pytest.mark.parametrize("curve", SPEND_CURVES, ids=lambda c: repr(c))
@pytest.mark.parametrize("amount", [1e-6, 3.5, 25_000.0])
def test_spend_buys_the_tokens_that_cost_the_amount(curve: Curve, amount: float) -> None:
    bond = Bonding("bond", curve, 0)
    tokens = bond.spend(amount)
    assert tokens > 0
    assert quad(curve.price, 0, tokens, epsabs=0, epsrel=1e-13)[0] == pytest.approx(amount, rel=1e-9)
    assert bond.v["reserve"] == pytest.approx(amount, rel=1e-9)
    assert bond.v["supply"] == tokens


def test_cost_quotes_without_buying() -> None:
    bond = Bonding("bond", Linear(a=1, b=0.01), 100)
    before = dict(bond.v)
    assert bond.cost(100) == pytest.approx(100 * 1 + 0.01 / 2 * (200**2 - 100**2), rel=1e-12)  # 250
    assert bond.v == before


def test_selling_the_whole_supply_pays_out_the_whole_reserve() -> None:
    bond = Bonding("bond", Sigmoid(cap=3, b=0.01, mid=700), 0)
    bond.spend(1234.5)
    reserve = bond.v["reserve"]
    assert bond.sell(bond.v["supply"]) == reserve
    assert bond.v["reserve"] == bond.v["supply"] == bond.v["mc"] == 0


@pytest.mark.parametrize("amount", [0, -1, math.nan, math.inf, True, "5"])
@pytest.mark.parametrize("action", ["buy", "sell", "spend", "cost"])
def test_amounts_that_are_not_positive_finite_numbers_are_refused(action: str, amount: Any) -> None:
    bond = Bonding("bond", Linear(a=1, b=0.01), 100)
    before = dict(bond.v)
    with pytest.raises(simcore.PluginError, match=f"bond.{action}: amount must be"):
        getattr(bond, action)(amount)
    assert bond.v == before


def test_selling_more_than_the_supply_or_past_an_overflow_is_refused() -> None:
    bond = Bonding("bond", Exponential(a=1, b=1), 10)
    with pytest.raises(simcore.PluginError, match=r"cannot sell 10\.5 tokens, the supply is 10"):
        bond.sell(10.5)
    with pytest.raises(simcore.PluginError, match="the exponential curve overflows at a supply of 2010"):
        bond.buy(2_000)
    assert bond.v["supply"] == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"curve": "cubic"}, "'curve' must be one of linear, exponential, sigmoid, got 'cubic'"),
        ({"b": -0.1}, "linear curve option 'b' must be >= 0, got -0.1"),
        ({"a": 0, "b": 0}, "linear curve needs option 'a' > 0 or option 'b' > 0"),
        ({"curve": "exponential", "a": 0}, "exponential curve option 'a' must be > 0, got 0"),
        ({"curve": "sigmoid", "cap": 1, "b": 0.1, "mid": math.inf}, "sigmoid curve option 'mid' must be a finite"),
        ({"curve": "sigmoid", "cap": 1, "b": 0, "mid": 0}, "sigmoid curve option 'b' must be > 0, got 0"),
        ({"curve": "sigmoid", "cap": 1, "b": 0.1}, "bonding plugin needs the option 'mid'"),
        ({"supply": -5}, "initial supply must be a finite number >= 0, got -5"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict[str, Any], message: str) -> None:
    with pytest.raises(simcore.SimulationError, match=message):
        build(**options)


def test_a_linked_token_supply_moves_with_buys_and_sells() -> None:
    bond = build()
    token = bond.token
    assert token is not None
    bond.buy(250)
    assert token.v["ts"] == 1_250
    tokens = bond.spend(40)
    assert token.v["ts"] == pytest.approx(1_250 + tokens, rel=1e-15)
    bond.sell(600)
    assert token.v["ts"] == pytest.approx(650 + tokens, rel=1e-12) == bond.v["supply"]


def test_a_refused_burn_leaves_the_curve_untouched() -> None:
    bond = build()
    assert bond.token is not None
    bond.token.burn(900)  # only 100 left in the token's supply, 1,000 on the curve
    before = dict(bond.v)
    with pytest.raises(simcore.PluginError, match="cannot burn 200"):
        bond.sell(200)
    assert bond.v == before


def test_generated_variables_follow_overrides() -> None:
    # the initial reserve of a linear curve: a s + b s^2 / 2
    bond = build(b=0.02)
    assert bond.v["reserve"] == pytest.approx(1 * 1_000 + 0.02 * 1_000**2 / 2, rel=1e-12)
    sim = simcore.Simulator("bonding_curve", {"bond_cap": 4, "curve_its": 20_000})
    expected = quad(Sigmoid(cap=4, b=1e-5, mid=500_000).price, 0, 20_000, epsrel=1e-13)[0]
    assert sim.get("bond_ir") == pytest.approx(expected, rel=1e-10)
    assert sim.get("bond_r") is None
    result = sim.simulate(years=0)
    assert result.res["bond"]["supply"] == 20_000
    assert result.nvars["bond_r"] == pytest.approx(expected, rel=1e-10)


SCENARIO = "bonding_curve"


def test_the_scenario_keeps_its_invariants_for_a_year() -> None:
    result = simcore.simulate(SCENARIO, years=1, seed=4)
    bond = result.res["bond"]
    assert len(result.stats) == 366
    curve = Sigmoid(cap=1, b=1e-5, mid=500_000)
    assert bond["reserve"] == pytest.approx(curve.integral(0, bond["supply"]), rel=1e-9)
    assert result.res["curve"]["ts"] == pytest.approx(bond["supply"], rel=1e-12)
    # money in: the initial reserve plus what buyers spent; out: what sellers received
    flows = result.nvars["bond_ir"] + result.nvars["spent"] - result.nvars["received"]
    assert bond["reserve"] == pytest.approx(flows, rel=1e-9)


def test_the_scenario_is_reproducible_by_seed_and_its_graphs_name_stats_columns() -> None:
    first, again, other = (simcore.simulate(SCENARIO, years=1, seed=seed) for seed in (1, 1, 2))
    assert first.stats == again.stats
    assert first.res["bond"] != other.res["bond"]
    columns = set(first.frame().columns)
    keys = [line["key"] for graph in simcore.load_scenario(SCENARIO).graphs for line in graph["lines"]]
    assert set(keys) <= columns


def test_a_steep_sigmoid_far_below_its_middle_still_sells_for_an_amount():
    """Where the price is nearly 0 the rounded area from the first guess may already cost the amount: the root
    finder then needs no bracket (it raised "f(a) and f(b) must have different signs")."""
    run = simcore.simulate("bonding_curve", 0.05, {"bond_b": 0.05}, seed=1)
    assert run.nvars["bond_s"] > run.nvars["bond_is"]
