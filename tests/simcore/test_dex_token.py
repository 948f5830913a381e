"""The dex and token plugins against closed forms, their refusals, and their generated variables."""

import math
from typing import Any

import pytest

import simcore
from simcore import PluginError, ScenarioError, SimulationError
from simcore.plugins import Dex, Token

LA, LB = 100.0, 50.0
TRADES = [("buyA", 10), ("sellA", 7), ("buyB", 3), ("sellB", 12.5), ("buyA", 42), ("sellB", 0.001), ("sellA", 250)]
BAD_AMOUNTS = [0, -1, -0.5, math.nan, math.inf, -math.inf, True, "10", None]


def expected_trade(la: float, lb: float, fee: float, method: str, x: float) -> tuple[float, float, float]:
    """The pool after `method(x)` and what it returns, in closed form.

    Buying x of one side costs `other * x / ((side - x) * (1 - fee))`; selling x of one side returns
    `-other * x * (1 - fee) / (side + x * (1 - fee))`. Everything paid in stays in the pool.
    """
    side, other = (la, lb) if method.endswith("A") else (lb, la)
    keep = 1 - fee
    if method.startswith("buy"):
        moved = other * x / ((side - x) * keep)
        side, other = side - x, other + moved
    else:
        moved = -other * x * keep / (side + x * keep)
        side, other = side + x, other + moved
    return (side, other, moved) if method.endswith("A") else (other, side, moved)


def pool(fee: float = 0, la: float = LA, lb: float = LB) -> Dex:
    return Dex("dex", "AI", "USDC", la, lb, fee)


@pytest.mark.parametrize("fee", [0, 0.003, 0.25])
def test_trades_follow_the_closed_forms(fee):
    dex, la, lb = pool(fee), LA, LB
    for method, x in TRADES:
        la, lb, moved = expected_trade(la, lb, fee, method, x)
        assert getattr(dex, method)(x) == pytest.approx(moved, rel=1e-12), method
        assert dex.v["la"] == pytest.approx(la, rel=1e-12)
        assert dex.v["lb"] == pytest.approx(lb, rel=1e-12)
        assert dex.v["pa"] == pytest.approx(lb / la, rel=1e-12)
        assert dex.v["pb"] == pytest.approx(la / lb, rel=1e-12)


@pytest.mark.parametrize(("method", "sign"), [("buyA", 1), ("buyB", 1), ("sellA", -1), ("sellB", -1)])
@pytest.mark.parametrize("fee", [0, 0.01])
def test_buys_return_what_was_paid_in_and_sells_minus_what_came_out(method, sign, fee):
    assert math.copysign(1, getattr(pool(fee), method)(5)) == sign


def test_without_a_fee_k_stays_the_initial_product():
    dex = pool()
    for method, x in TRADES:
        getattr(dex, method)(x)
        assert dex.v["k"] == LA * LB
        assert dex.v["la"] * dex.v["lb"] == pytest.approx(LA * LB, rel=1e-12)


def test_with_a_fee_k_grows_on_every_trade():
    dex = pool(0.003)
    for method, x in TRADES:
        k = dex.v["k"]
        getattr(dex, method)(x)
        assert dex.v["k"] > k
        assert dex.v["k"] == pytest.approx(dex.v["la"] * dex.v["lb"], rel=1e-12)


@pytest.mark.parametrize("method", ["buyA", "buyB", "sellA", "sellB"])
def test_a_fee_makes_the_trader_pay_more_and_receive_less(method):
    free, charged = getattr(pool(0), method)(5), getattr(pool(0.01), method)(5)
    assert charged > free  # buys: more paid in; sells: a smaller (negative) amount out


@pytest.mark.parametrize("fee", [0, 0.02])
@pytest.mark.parametrize("method", ["buyA", "buyB", "sellA", "sellB"])
def test_what_the_trader_moves_is_what_the_pool_gains_or_loses(fee, method):
    side, other = ("la", "lb") if method.endswith("A") else ("lb", "la")
    dex = pool(fee)
    before = dict(dex.v)
    moved = getattr(dex, method)(8)
    sign = -1 if method.startswith("buy") else 1
    assert dex.v[side] - before[side] == pytest.approx(sign * 8, rel=1e-12)
    assert dex.v[other] - before[other] == pytest.approx(moved, rel=1e-12)


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
@pytest.mark.parametrize("method", ["buyA", "buyB", "sellA", "sellB"])
def test_bad_amounts_are_refused_and_leave_the_pool_as_it_was(method, amount):
    dex = pool()
    before = dict(dex.v)
    with pytest.raises(PluginError, match=f"dex.{method}: amount must be"):
        getattr(dex, method)(amount)
    assert dex.v == before


@pytest.mark.parametrize(("method", "amount"), [("buyA", LA), ("buyA", LA * 3), ("buyB", LB), ("buyB", 1e9)])
def test_buying_a_whole_side_is_refused(method, amount):
    dex = pool()
    before = dict(dex.v)
    with pytest.raises(PluginError, match="drain"):
        getattr(dex, method)(amount)
    assert dex.v == before
    assert dex.buyA(LA - 1e-6) > 0  # just short of the side is allowed


@pytest.mark.parametrize("fee", [1, 1.5, -0.01, math.nan, math.inf, True, "0.1", None])
def test_a_fee_outside_zero_to_one_is_refused(fee):
    with pytest.raises(PluginError, match="fee"):
        pool(fee)


@pytest.mark.parametrize("liquidity", [(0, 50), (100, -1), (math.nan, 50), (100, "50")])
def test_bad_initial_liquidity_is_refused(liquidity):
    with pytest.raises(PluginError, match="initial"):
        pool(0, *liquidity)


def dex_plugins(**options: Any) -> dict[str, Any]:
    spec = {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50, **options}
    return {"dex": spec}


def test_a_bad_fee_in_a_scenario_fails_the_run_by_plugin(make_scenario):
    with pytest.raises(SimulationError, match=r"plugin 'dex'.*fee"):
        simcore.simulate(make_scenario(plugins=dex_plugins(fee=1)), years=0.01)


def test_a_pool_trading_a_token_against_itself_is_refused(make_scenario):
    with pytest.raises(ScenarioError, match="AI"):
        make_scenario(plugins=dex_plugins(tokenB="ai"))


def test_dex_variables_are_computed_from_the_current_liquidity():
    result = simcore.simulate("ai3_plugins", years=1, overrides={"dex_ai_il": 200})
    assert result.v["dex_k"] == 200 * 50
    assert result.v["dex_ai_ip"] == pytest.approx(50 / 200, rel=1e-12)
    assert result.v["dex_usdc_ip"] == pytest.approx(200 / 50, rel=1e-12)
    assert result.v["iaip"] == pytest.approx(0.25, rel=1e-12)
    assert result.stats[0]["dex"] == {"la": 200, "lb": 50, "k": 10000, "pa": 0.25, "pb": 4}
    assert result.nvars["dex_k"] == 10000
    assert result.v["dex_ai_l"] is None and result.v["dex_ai_p"] is None


def test_a_fee_is_a_variable_and_can_be_overridden(make_scenario):
    def buyer(i, v, r, s, p):
        r["paid"] += p.dex.buyA(1)

    scenario = make_scenario(plugins=dex_plugins(fee=0.01), before=lambda: {"paid": 0}, players=[buyer])
    charged = simcore.simulate(scenario, years=0.01)
    free = simcore.simulate(scenario, years=0.01, overrides={"dex_fee": 0})
    assert charged.nvars["dex_fee"] == 0.01
    assert free.res["paid"] == pytest.approx(50 * 4 / (100 - 4), rel=1e-12)  # 4 days of 1 $AI: la 100 -> 96
    assert charged.res["paid"] > free.res["paid"]


# --- token --------------------------------------------------------------------------------------------------------


def test_mint_and_burn_change_the_supply():
    token = Token("ai", "AI", 1000, 0.5)
    assert token.mint(250) == 1250
    assert token.burn(1000.5) == 249.5
    assert token.burn(249.5) == 0
    assert token.state() == {"ts": 0, "price": 0.5}


def test_burning_more_than_the_supply_is_refused():
    token = Token("ai", "AI", 1000, 0)
    with pytest.raises(PluginError, match=r"ai.burn: cannot burn 1000.01 of a supply of 1000"):
        token.burn(1000.01)
    assert token.v["ts"] == 1000


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
@pytest.mark.parametrize("method", ["mint", "burn"])
def test_bad_mint_and_burn_amounts_are_refused(method, amount):
    token = Token("ai", "AI", 1000, 0)
    with pytest.raises(PluginError, match=f"ai.{method}: amount must be"):
        getattr(token, method)(amount)
    assert token.v["ts"] == 1000


@pytest.mark.parametrize(("supply", "price"), [(-1, 0), ("10", 0), (math.nan, 0), (True, 0), (10, -1), (10, None)])
def test_a_bad_supply_or_price_is_refused(supply, price):
    with pytest.raises(PluginError, match=r"ai: (supply|price) must be"):
        Token("ai", "AI", supply, price)


def test_fdv_is_supply_times_price(make_scenario):
    def issuer(i, v, r, s, p):
        p.ai.mint(5)
        p.ai.v["price"] = i / 100

    plugins = {"ai": {"type": "token", "ticker": "AI", "supply": 1000}}
    result = simcore.simulate(make_scenario(plugins=plugins, players=[issuer]), years=1)
    assert result.v["ai_fdv"] is None
    assert result.nvars["ai_its"] == 1000
    assert result.nvars["ai_ts"] == 1000 + 5 * 365
    assert result.nvars["ai_p"] == pytest.approx(3.65, rel=1e-12)
    assert result.nvars["ai_fdv"] == pytest.approx((1000 + 5 * 365) * 3.65, rel=1e-12)
    assert result.stats[1]["ai"] == {"ts": 1005, "price": 0.01}
    overridden = simcore.simulate(make_scenario(plugins=plugins, players=[issuer]), years=1, overrides={"ai_its": 10})
    assert overridden.nvars["ai_ts"] == 10 + 5 * 365
