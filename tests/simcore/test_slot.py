"""The evolvable slot: the wallet's rules, what the player can reach, its views, metrics and invariants.

Players here are plain Python functions: the sandbox adds RestrictedPython and a process on top, but
every rule that keeps a score honest is enforced by `play` itself.
"""

import contextlib
import math
import random
from typing import Any

import pytest

import simcore
from simcore import InvalidAction, InvalidOutput, InvariantViolation, ScenarioError, SimulationError, play
from simcore.plugins import Dex, DexSpec
from simcore.slot import Slot

POOL = {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 1000, "liquidityB": 1000}
SLOT = {
    "goal": "End with as much USDC as possible.",
    "comp": "usdc",
    "wallet": {"USDC": 100, "AI": 0},
    "quote": "USDC",
    "actions": {"dex": ("buyA", "sellA")},
    "observe": {"price": "dex.pa"},
}
BAD_AMOUNTS = [-1, -0.5, 0, 0.0, math.nan, math.inf, -math.inf, True, False, "10", None, 10**30, 1e10, [1]]


def hold(i, v, r, s, p):
    return None


def buy_low_sell_high(i, v, r, s, p):
    if v["price"] < 0.8 and v["wallet"]["USDC"] > 10:
        p["dex"].buyA(10)
    elif v["price"] > 1.0 and v["wallet"]["AI"] > 0:
        p["dex"].sellA(min(5, v["wallet"]["AI"]))


def days_player(actions):
    """A player that runs `actions[i](v, r, p)` on day i (if any) and keeps its results in `r[i]`."""

    def fn(i, v, r, s, p):
        if i in actions:
            r[i] = actions[i](v, r, p)

    return fn


@pytest.fixture
def pool_scenario(make_scenario):
    """A lone 1000 AI / 1000 USDC pool and a slot; keyword arguments replace slot fields, `fee` the pool's."""

    def build(fee: float = 0, players=(), vars=None, **fields: Any) -> simcore.Scenario:
        return make_scenario(
            vars=vars or {}, plugins={"dex": {**POOL, "fee": fee}}, players=list(players), slot={**SLOT, **fields}
        )

    return build


def cause_of(excinfo: pytest.ExceptionInfo[SimulationError]) -> BaseException | None:
    return excinfo.value.__cause__


# --- the built-in slots -------------------------------------------------------------------------------------


def test_ai3_plugins_declares_the_usdc_goal():
    slot = simcore.load_scenario("ai3_plugins").slot
    assert slot is not None
    assert slot.goal == "Start with 50 USDC and end the year with as much USDC as possible."
    assert (slot.comp, slot.direction) == ("usdc", "max")
    assert slot.wallet == {"USDC": 50.0, "AI": 0.0}
    assert set(slot.actions["dex"]) == {"buyA", "sellA", "buyB", "sellB"}
    assert {"price", "ai_liquidity", "usdc_liquidity", "total_buy", "total_sell"} <= set(slot.observe)


@pytest.mark.parametrize("name", ["ai3_plugins", "vc_unlock"])
def test_holding_scores_the_starting_wallet_and_changes_nothing(name):
    start = simcore.load_scenario(name).slot.wallet["USDC"]
    outcome = play(name, hold)
    plain = simcore.simulate(name)
    assert outcome.metrics == {"usdc": start, "ai": 0.0, "value": start, "actions": 0.0, "refused": 0.0}
    assert outcome.score == start
    without_slot = [{k: x for k, x in row.items() if k != "player"} for row in outcome.result.stats]
    assert without_slot == plain.stats


def test_a_scenario_without_a_slot_is_refused_by_name():
    with pytest.raises(ScenarioError, match="'ai3_quickstart' has no slot"):
        play("ai3_quickstart", hold)


# --- trades and the wallet ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fee", [0, 0.003])
def test_trades_move_the_wallet_exactly_as_much_as_the_pool(pool_scenario, fee):
    keep = 1 - fee
    outcome = play(
        pool_scenario(fee), days_player({1: lambda v, r, p: p.dex.buyA(10), 2: lambda v, r, p: p.dex.sellA(4)})
    )
    paid = 1000 * 10 / (990 * keep)  # the closed form of a constant-product buy
    la, lb = 990.0, 1000 + paid
    received = lb * 4 * keep / (la + 4 * keep)
    assert outcome.scratch == {1: pytest.approx(paid), 2: pytest.approx(-received)}  # AI3's signs
    assert outcome.wallet == {"USDC": pytest.approx(100 - paid + received), "AI": pytest.approx(6)}
    res = outcome.result.res
    assert res["dex"]["la"] == pytest.approx(1000 - outcome.wallet["AI"])
    assert res["dex"]["lb"] == pytest.approx(1000 + 100 - outcome.wallet["USDC"])
    assert res["player"] == {**outcome.wallet, "actions": 2, "refused": 0}
    la, lb = res["dex"]["la"], res["dex"]["lb"]
    sale = lb - la * lb / (la + 6 * keep)  # `value` counts the AI at what selling it all would fetch
    assert outcome.metrics["value"] == pytest.approx(outcome.wallet["USDC"] + sale, rel=1e-12)


def test_tokens_are_conserved_across_the_pool_the_wallet_and_the_background_players():
    outcome = play("ai3_plugins", buy_low_sell_high)
    res = outcome.result.res
    background_net = res["total_buy"] - res["total_sell"]
    assert outcome.metrics["actions"] > 0
    assert res["dex"]["la"] + outcome.wallet["AI"] + background_net == pytest.approx(100, abs=1e-9)


def test_a_simple_strategy_ends_with_more_than_it_started_with():
    outcome = play("ai3_plugins", buy_low_sell_high)
    assert outcome.score == outcome.metrics["usdc"] > 50
    assert all(math.isfinite(x) and type(x) is float for x in outcome.metrics.values())


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_a_malformed_amount_raises_changes_nothing_and_ends_the_run_even_if_caught(pool_scenario, amount):
    seen = []

    def fn(i, v, r, s, p):
        before = (dict(v["wallet"]), dict(p["dex"].v))
        with pytest.raises(InvalidAction, match=r"dex\.buyA.*int or float in \(0, 1e\+09\]"):
            p["dex"].buyA(amount)
        seen.append(before == (dict(v["wallet"]), dict(p["dex"].v)))
        with pytest.raises(InvalidAction, match=r"dex\.buyA"):  # a good action after a bad one raises it again
            p["dex"].sellA(1)

    with pytest.raises(SimulationError, match=r"failed on day 1: InvalidAction: dex\.buyA") as excinfo:
        play(pool_scenario(), fn, years=2 / 365)
    assert isinstance(cause_of(excinfo), InvalidAction)
    assert seen == [True]


def test_an_uncaught_invalid_action_stops_the_run_naming_the_player_and_day(pool_scenario):
    with pytest.raises(SimulationError, match="player 'player' failed on day 1: InvalidAction") as excinfo:
        play(pool_scenario(), days_player({1: lambda v, r, p: p.dex.buyA(True)}))
    assert isinstance(cause_of(excinfo), InvalidAction)


def test_an_int_subclass_is_refused_like_a_bool(pool_scenario):
    class Amount(int):
        pass

    with pytest.raises(SimulationError) as excinfo:
        play(pool_scenario(), days_player({1: lambda v, r, p: p.dex.buyA(Amount(5))}))
    assert isinstance(cause_of(excinfo), InvalidAction)


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (lambda p: p.dex.buyA(200), "costs more than the wallet's 100 USDC: the pool ran it, then was restored"),
        (lambda p: p.dex.sellA(1), "sells AI the wallet does not hold"),
        (lambda p: p.dex.buyA(1000), "would drain the pool: the pool refuses"),
        (lambda p: p.dex.buyA(5000), "more than the pool holds"),
    ],
)
def test_an_unaffordable_or_refused_trade_returns_zero_and_restores_everything_exactly(pool_scenario, action, why):
    def fn(i, v, r, s, p):
        before = (dict(v["wallet"]), dict(p["dex"].v))
        r["returned"] = action(p)
        r["same"] = before == (dict(v["wallet"]), dict(p["dex"].v))

    outcome = play(pool_scenario(), fn, years=1 / 365)
    assert outcome.scratch == {"returned": 0.0, "same": True}, why
    assert outcome.metrics["refused"] == 1 and outcome.metrics["actions"] == 0
    assert outcome.result.res["dex"] == {"la": 1000, "lb": 1000, "k": 1e6, "pa": 1.0, "pb": 1.0}


def test_a_balance_spent_to_the_last_unit_is_allowed_and_never_goes_negative(pool_scenario):
    spend_all = 1000 - 1e6 / (1000 + 100)  # the AI that exactly 100 USDC buys

    def fn(i, v, r, s, p):
        if i == 1:
            p.dex.buyA(spend_all * (1 - 1e-12))
        else:
            p.dex.sellA(v["wallet"]["AI"])

    outcome = play(pool_scenario(), fn, years=2 / 365)
    assert outcome.metrics["refused"] == 0
    assert 0 <= outcome.result.stats[1]["player"]["USDC"] < 1e-9
    assert outcome.wallet["AI"] == 0 and outcome.wallet["USDC"] == pytest.approx(100)


def test_no_balance_is_ever_negative_under_random_trades(pool_scenario):
    def reckless(i, v, r, s, p):
        for _ in range(10):
            action = p["rng"].choice(["buyA", "sellA"])
            getattr(p["dex"], action)(p["rng"].uniform(0.001, 300))

    outcome = play(pool_scenario(), reckless, years=0.3)
    balances = [row["player"][t] for row in outcome.result.stats for t in ("USDC", "AI")]
    assert min(balances) >= 0
    assert outcome.metrics["actions"] > 10 and outcome.metrics["refused"] > 10


def test_actions_are_capped_per_day_and_a_swallowed_flood_ends_the_run(pool_scenario):
    calls = []

    def flood(i, v, r, s, p):
        for _ in range(10_000):
            try:
                p["dex"].buyA(0.001)
                calls.append("ok")
            except InvalidAction:
                calls.append("invalid")

    with pytest.raises(SimulationError, match=r"failed on day 1: InvalidAction: dex\.buyA: at most 3 actions a day"):
        play(pool_scenario(max_actions_per_day=3), flood, years=2 / 365)
    assert calls == ["ok"] * 3 + ["invalid"] * 9997  # every call after the first invalid one raises at once


def test_the_default_cap_is_ten_actions_a_day_and_refused_trades_count(pool_scenario):
    def fn(i, v, r, s, p):
        for _ in range(10):
            p.dex.sellA(1)  # refused: no AI held

    assert play(pool_scenario(), fn, years=1 / 365).metrics["refused"] == 10

    def eleven(i, v, r, s, p):
        fn(i, v, r, s, p)
        p.dex.sellA(1)

    with pytest.raises(SimulationError, match="at most 10 actions a day"):
        play(pool_scenario(), eleven, years=1 / 365)


def test_max_amount_caps_a_single_action(pool_scenario):
    fn = days_player({1: lambda v, r, p: p.dex.buyA(5.5)})
    assert play(pool_scenario(max_amount=5.5), fn).wallet["AI"] == 5.5
    with pytest.raises(SimulationError) as excinfo:
        play(pool_scenario(max_amount=5), fn)
    assert isinstance(cause_of(excinfo), InvalidAction)


# --- what the player can reach ------------------------------------------------------------------------------


def test_only_the_allowed_actions_are_reachable(pool_scenario, make_scenario):
    seen = {}

    def fn(i, v, r, s, p):
        handle = p["dex"]
        seen["public"] = [name for name in dir(handle) if not name.startswith("_")]
        for name in ("buyB", "sellB", "mint", "plugin", "dex", "wallet", "max_sell", "sell"):
            with pytest.raises(AttributeError, match="allows buyA, sellA"):
                getattr(handle, name)
        with pytest.raises(AttributeError):
            handle.buyA = lambda amount: 0.0
        with pytest.raises(KeyError):
            p["ai"]
        seen["handles"] = sorted(p)

    scenario = make_scenario(plugins={"ai": {"type": "token", "ticker": "AI", "supply": 1}, "dex": POOL}, slot=SLOT)
    play(scenario, fn, years=1 / 365)
    assert seen == {"public": ["v"], "handles": ["dex", "rng"]}


def read_only_views_scenario(make_scenario):
    return make_scenario(
        vars={"prices": {"name": "Prices", "val": [1.0, 2.0, 3.0]}, "table": {"val": {"a": [1, 2]}}},
        plugins={"dex": POOL},
        slot={**SLOT, "observe": {"price": "dex.pa", "book": lambda r, p: {"bids": [p.dex.v["pa"], 0.5]}}},
    )


WRITES = {
    "v item": lambda v, s, p: v.__setitem__("price", 1.0),
    "v delete": lambda v, s, p: v.__delitem__("price"),
    "v nested list": lambda v, s, p: v["prices"].__setitem__(0, 1.0),
    "v nested dict": lambda v, s, p: v["table"].__setitem__("a", None),
    "v nested dict list": lambda v, s, p: v["table"]["a"].append(3),
    "v observation": lambda v, s, p: v["book"]["bids"].__setitem__(0, 1.0),
    "wallet": lambda v, s, p: v["wallet"].__setitem__("USDC", 1e12),
    "s item": lambda v, s, p: s.__setitem__(0, {}),
    "s append": lambda v, s, p: s.append({}),
    "s row": lambda v, s, p: s[-1].__setitem__("price", 0.0),
    "s nested": lambda v, s, p: s[0]["book"]["bids"].__setitem__(0, 1.0),
    "p item": lambda v, s, p: p.__setitem__("dex", None),
    "p rng": lambda v, s, p: p.__setitem__("rng", random.Random(0)),
    "pool state": lambda v, s, p: p["dex"].v.__setitem__("la", 1.0),
    "handle": lambda v, s, p: setattr(p["dex"], "v", {}),
    "view attribute": lambda v, s, p: setattr(v, "data", {}),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_v_s_and_p_are_read_only_nested_values_included(make_scenario, write):
    with pytest.raises(SimulationError) as excinfo:
        play(read_only_views_scenario(make_scenario), lambda i, v, r, s, p: write(v, s, p), years=1 / 365)
    assert isinstance(cause_of(excinfo), (TypeError, AttributeError))


def test_attempted_writes_caught_by_the_player_leave_the_run_as_if_it_held(make_scenario):
    def vandal(i, v, r, s, p):
        for write in WRITES.values():
            with contextlib.suppress(TypeError, AttributeError):
                write(v, s, p)
        r.update(balance=10**12, dex=None, player={"USDC": 1e18}, i=-1)  # r is the player's own scratch

    scenario = read_only_views_scenario(make_scenario)
    cheated, honest = play(scenario, vandal, years=0.1), play(scenario, hold, years=0.1)
    assert cheated.metrics == honest.metrics
    assert cheated.result.stats == honest.result.stats
    assert cheated.scratch == {"balance": 10**12, "dex": None, "player": {"USDC": 1e18}, "i": -1}


def test_v_holds_variables_observations_and_the_wallet_and_s_a_row_a_day(pool_scenario):
    def fn(i, v, r, s, p):
        r[i] = (v["level"], v["price"], dict(v["wallet"]), [dict(row) for row in s], p["dex"].v["la"])
        if i == 1:
            p.dex.buyA(50)

    outcome = play(pool_scenario(vars={"level": {"val": 7}}), fn, years=2 / 365)
    price_after = outcome.result.stats[1]["dex"]["pa"]
    assert outcome.scratch[1] == (
        7,
        1.0,
        {"USDC": 100, "AI": 0},
        [{"i": 0, "price": 1.0}, {"i": 1, "price": 1.0}],
        1000,
    )
    assert outcome.scratch[2] == (
        7,
        price_after,
        {"USDC": pytest.approx(100 - 1000 * 50 / 950), "AI": 50},
        [{"i": 0, "price": 1.0}, {"i": 1, "price": 1.0}, {"i": 2, "price": price_after}],
        950,
    )


def test_the_player_sees_the_state_at_its_position(make_scenario):
    def buyer(i, v, r, s, p):
        p.dex.buyA(100)

    def fn(i, v, r, s, p):
        r["price"] = v["price"]

    def scenario(position):
        slot = {**SLOT, "position": position} if position is not None else SLOT
        return make_scenario(plugins={"dex": POOL}, players=[buyer], slot=slot)

    after_buyer = 1000 * 1000 / 900 / 900
    assert play(scenario(0), fn, years=1 / 365).scratch == {"price": 1.0}
    assert play(scenario(1), fn, years=1 / 365).scratch == {"price": pytest.approx(after_buyer)}
    assert play(scenario(None), fn, years=1 / 365).scratch == {"price": pytest.approx(after_buyer)}


def test_the_players_rng_is_its_own_and_seeded_by_the_run_seed():
    def reseeding(i, v, r, s, p):
        p["rng"].seed(12345)
        r.setdefault("draws", []).append([p["rng"].random() for _ in range(100)])

    def drawing(i, v, r, s, p):
        r.setdefault("draws", []).append(p["rng"].random())

    baseline = play("vc_unlock", hold, years=0.2, seed=3).result.stats
    assert play("vc_unlock", reseeding, years=0.2, seed=3).result.stats == baseline  # the buyers' rng is untouched
    first, again, other = (play("ai3_plugins", drawing, years=0.05, seed=seed).scratch["draws"] for seed in (3, 3, 4))
    assert first == again and first != other
    assert first[0] != random.Random(3).random()  # not a copy of the scenario's rng


def test_a_zero_year_run_measures_the_starting_wallet():
    calls = []
    outcome = play("ai3_plugins", lambda i, v, r, s, p: calls.append(i), years=0)
    assert calls == []
    assert outcome.score == 50.0 and outcome.metrics["value"] == 50.0


# --- the controls of the red-team sample, as plain Python ---------------------------------------------------


def ok_basic(i, v, r, s, p):
    r["day"] = i
    return 0


def ok_augassign(i, v, r, s, p):
    t = 0
    for d in s:
        t += d["price"]
    r["avg"] = t / max(len(s), 1)
    return t


def ok_trade(i, v, r, s, p):
    if v["price"] < 2:
        p["dex"].buyA(10)
    else:
        p["dex"].sellA(5)
    return 1.5


def ok_common_builtins(i, v, r, s, p):
    hist = []
    for k, d in enumerate(s):  # noqa: B007 - the control's code as the sample has it
        hist.append(round(abs(d.get("price", 0.0)), 4))
    r["lo"] = min(hist or [0])
    r["hi"] = max(hist or [0])
    r["n"] = len(hist)
    r["w"] = {str(k): float(x) for k, x in enumerate(hist)}
    return sum(hist)


def ok_state_across_days(i, v, r, s, p):
    r["count"] = r.get("count", 0) + 1
    if r["count"] > 3:
        p["dex"].sellA(1)
    return 0


@pytest.mark.parametrize("fn", [ok_basic, ok_augassign, ok_trade, ok_common_builtins, ok_state_across_days])
def test_the_controls_play_ai3_plugins(fn):
    outcome = play("ai3_plugins", fn)
    assert set(outcome.metrics) == {"usdc", "ai", "value", "actions", "refused"}
    assert all(math.isfinite(x) for x in outcome.metrics.values())
    assert outcome.metrics["usdc"] >= 0 and outcome.metrics["ai"] >= 0


def test_the_controls_see_what_they_expect():
    days = simcore.day_count(1)
    assert play("ai3_plugins", ok_basic).scratch == {"day": days}
    # the player plays last and does nothing, so each row's price is that day's closing price
    closing = [row["dex"]["pa"] for row in simcore.simulate("ai3_plugins").stats]
    assert play("ai3_plugins", ok_augassign).scratch["avg"] == pytest.approx(sum(closing) / len(closing))
    assert play("ai3_plugins", ok_common_builtins).scratch["n"] == days + 1
    assert play("ai3_plugins", ok_state_across_days).metrics == {
        "usdc": 50.0,
        "ai": 0.0,
        "value": 50.0,
        "actions": 0.0,
        "refused": days - 3,  # it sells AI it never bought
    }
    traded = play("ai3_plugins", ok_trade).metrics
    assert traded["actions"] > 0 and traded["refused"] > 0  # it keeps buying once its 50 USDC are spent


# --- what the player returns, raises, and the metrics -------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "1", object(), [1], 10**400], ids=repr)
def test_a_return_value_that_is_not_a_finite_number_is_invalid_output(pool_scenario, value):
    with pytest.raises(SimulationError, match="failed on day 1: InvalidOutput") as excinfo:
        play(pool_scenario(), lambda i, v, r, s, p: value)
    assert isinstance(cause_of(excinfo), InvalidOutput)


@pytest.mark.parametrize("value", [None, 0, -3, 1.5, 10**300])
def test_none_and_finite_numbers_are_valid_returns(pool_scenario, value):
    assert play(pool_scenario(), lambda i, v, r, s, p: value, years=0.05).score == 100


@pytest.mark.parametrize("error", [ValueError("boom"), ZeroDivisionError(), SystemExit(0)], ids=repr)
def test_what_the_player_raises_is_the_cause_of_a_simulation_error(pool_scenario, error):
    def fn(i, v, r, s, p):
        if i == 2:
            raise error

    with pytest.raises(SimulationError, match="player 'player' failed on day 2") as excinfo:
        play(pool_scenario(), fn)
    cause = cause_of(excinfo)
    assert cause is error or cause.__cause__ is error  # SystemExit is wrapped: the engine stops only Exceptions


def test_slot_metrics_are_added_and_must_be_finite(pool_scenario):
    def fn(i, v, r, s, p):
        if i == 1:
            p.dex.buyA(10)

    gained = {"ai_share": lambda wallet, nvars: wallet["AI"] / 1000}
    assert play(pool_scenario(metrics=gained), fn).metrics["ai_share"] == 0.01
    broken = {"ratio": lambda wallet, nvars: math.inf}
    with pytest.raises(InvalidOutput, match="metric 'ratio'"):
        play(pool_scenario(metrics=broken), fn)


def test_the_comp_can_be_a_slot_metric_to_minimise(pool_scenario):
    slot = pool_scenario(comp="spent", direction="min", metrics={"spent": lambda wallet, nvars: 100 - wallet["USDC"]})
    outcome = play(slot, days_player({1: lambda v, r, p: p.dex.buyA(10)}))
    assert outcome.score == outcome.metrics["spent"] == pytest.approx(100 - outcome.wallet["USDC"])
    assert outcome.score > 0


# --- invariants ----------------------------------------------------------------------------------------------


def test_a_broken_slot_invariant_is_named(pool_scenario):
    invariants = {"keeps some usdc": lambda wallet, nvars: wallet["USDC"] >= 95}
    fn = days_player({1: lambda v, r, p: p.dex.buyA(10)})
    assert play(pool_scenario(invariants=invariants), hold).score == 100
    with pytest.raises(InvariantViolation, match="invariant 'keeps some usdc' broken"):
        play(pool_scenario(invariants=invariants), fn)


class LeakyDex(Dex):
    """A faulty pool: it settles every trade at the state it quoted, plus one USDC from nowhere."""

    def commit(self, la, lb, k):
        super().commit(la, lb + 1, k)


class LeakyDexSpec(DexSpec):
    kind = "leaky_dex"

    def build(self, key, v, plugins, rng):
        return LeakyDex(key, "AI", "USDC", v["dex_ai_il"], v["dex_usdc_il"], 0)


def test_a_market_that_settles_other_than_it_quoted_breaks_conservation(make_scenario):
    spec = LeakyDexSpec(**{k: x for k, x in POOL.items() if k != "type"})
    scenario = make_scenario(plugins={"dex": spec}, slot=SLOT)
    assert play(scenario, hold).score == 100

    def swallowing(v, r, p):
        with contextlib.suppress(InvariantViolation):
            p.dex.buyA(10)

    for player in (days_player({1: lambda v, r, p: p.dex.buyA(10)}), days_player({1: swallowing})):
        with pytest.raises(SimulationError, match=r"'conservation' broken: dex settled at USDC [\d.]+ instead") as exc:
            play(scenario, player)
        assert isinstance(cause_of(exc), InvariantViolation)  # caught by the player or not


# --- declaring a slot ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"colour": "red"}, r"unknown fields \['colour'\]"),
        ({"goal": None}, "goal must be a text"),
        ({"direction": "up"}, "direction must be 'max' or 'min'"),
        ({"comp": "profit"}, "comp 'profit' is not a metric.*usdc, ai, value, actions, refused"),
        ({"wallet": {"USDC": -1, "AI": 0}}, "wallet 'USDC' must be a starting balance"),
        ({"wallet": {"USDC": 100}}, "must hold every token 'dex' trades: add AI"),
        ({"wallet": {"USDC": 1, "usdc": 2, "AI": 0}}, "names a ticker twice"),
        ({"actions": {"dex": ("buyA", "mint")}}, r"'dex' has no actions \['mint'\]; a dex offers buyA"),
        ({"actions": {"dex": "buyA"}}, "actions 'dex' must be a list of action names"),
        ({"actions": {"pool": ("buyA",)}}, "actions name 'pool', which is not a plugin"),
        ({"observe": {"i": "dex.pa"}}, r"observe cannot name \['i'\]"),
        ({"observe": {"level": "dex.pa"}}, r"observe names \['level'\] are also variables"),
        ({"observe": {"price": "dex..pa"}}, "observe 'price' must be a dotted path"),
        ({"metrics": {"usdc": lambda w, n: 1}}, r"metrics \['usdc'\] clash with built-in metrics"),
        ({"quote": "EUR"}, "quote 'EUR' is not in the wallet"),
        ({"position": 2}, "position 2 is past the 0 players"),
        ({"max_actions_per_day": 0}, "max_actions_per_day must be an int >= 1"),
        ({"max_amount": math.inf}, "max_amount must be a number > 0"),
        ({"key": "dex"}, "key 'dex' is also a plugin key"),
    ],
)
def test_a_malformed_slot_is_a_scenario_error_naming_the_field(pool_scenario, fields, message):
    with pytest.raises(ScenarioError, match=f"scenario 'test_scenario': slot: .*{message}"):
        pool_scenario(vars={"level": {"val": 1}}, **fields)


def test_a_slot_must_trade_on_a_market_and_price_its_wallet(make_scenario):
    plugins = {"ai": {"type": "token", "ticker": "AI", "supply": 1}, "dex": POOL}
    with pytest.raises(ScenarioError, match=r"'ai', a token plugin; a slot trades only on .*dex.* plugins"):
        make_scenario(plugins=plugins, slot={**SLOT, "actions": {"ai": ("mint",)}})
    with pytest.raises(ScenarioError, match=r"no market of the slot prices \['ETH'\] in USDC"):
        make_scenario(plugins=plugins, slot={**SLOT, "wallet": {"USDC": 1, "AI": 0, "ETH": 1}})


def test_a_slot_object_works_like_its_dict(make_scenario):
    scenario = make_scenario(plugins={"dex": POOL}, slot=Slot(**SLOT))
    assert scenario.slot == make_scenario(plugins={"dex": POOL}, slot=SLOT).slot
    assert play(scenario, hold, years=0.01).score == 100


def test_a_missing_required_field_is_named(make_scenario):
    with pytest.raises(ScenarioError, match=r"missing fields \['comp', 'wallet'\]"):
        make_scenario(plugins={"dex": POOL}, slot={"goal": "g", "actions": {"dex": ("buyA",)}})


def test_an_observation_that_fails_is_named_before_the_player_runs(pool_scenario):
    calls = []
    with pytest.raises(SimulationError, match="before failed: slot observation 'depth' failed: KeyError"):
        play(pool_scenario(observe={"depth": "dex.depth"}), lambda i, v, r, s, p: calls.append(i))
    assert calls == []
