"""One simulation's semantics (AI3's loop, and where simcore does better) and scenario loading."""

import math
import random
from typing import Any

import pytest

import simcore
from simcore import ScenarioError, SimulationError


def counter(i: int, v: Any, r: dict[str, Any], s: list[dict[str, Any]], p: Any) -> None:
    r["n"] += 1


def ai3_days(years: float) -> int:
    """AI3's loop, written out: a step runs while `step < 365 * years`."""
    step = 0
    while step < 365 * years:
        step += 1
    return step


# --- years --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("years", [1, 2, 0.5, 0.2, 0.1, 1 / 365, 0.001, 1.0001])
def test_years_run_the_days_ai3_runs(make_scenario, years):
    result = simcore.simulate(make_scenario(before=lambda: {"n": 0}, players=[counter]), years=years)
    days = ai3_days(years)
    assert len(result.stats) == days + 1
    assert [row["i"] for row in result.stats] == list(range(days + 1))
    assert result.res["n"] == days


def test_half_a_year_is_183_days_and_zero_years_is_only_the_first_row(make_scenario):
    scenario = make_scenario(before=lambda: {"n": 0}, players=[counter])
    assert len(simcore.simulate(scenario, years=0.5).stats) == 184
    result = simcore.simulate(scenario, years=0)
    assert result.stats == [{"i": 0, "n": 0}]
    assert result.res == {"i": 0, "n": 0}


@pytest.mark.parametrize("years", [-1, -0.5, math.nan, math.inf, True, False, "1"])
def test_bad_years_are_refused(make_scenario, years):
    with pytest.raises(SimulationError, match="years"):
        simcore.simulate(make_scenario(), years=years)


# --- the state and the stats rows ---------------------------------------------------------------------------


def test_a_key_a_player_sets_on_the_row_keeps_its_value_and_the_state_fills_the_rest(make_scenario):
    def player(i, v, r, s, p):
        r["price"] = i * 2
        r["other"] = i * 3
        s[i]["price"] = f"player's {i}"

    result = simcore.simulate(make_scenario(before=lambda: {"price": 1}, players=[player]), years=0.01)
    assert result.stats[1] == {"i": 1, "price": "player's 1", "other": 3}
    assert result.stats[4] == {"i": 4, "price": "player's 4", "other": 12}
    assert result.res["price"] == 8


def test_the_first_row_and_each_day_row_are_snapshots_of_the_state(make_scenario):
    def player(i, v, r, s, p):
        r["x"] = i * 10

    result = simcore.simulate(make_scenario(before=lambda: {"x": 1}, players=[player]), years=0.01)
    assert result.stats[0] == {"i": 0, "x": 1}
    assert [row["x"] for row in result.stats] == [1, 10, 20, 30, 40]
    assert result.res == {"i": 4, "x": 40}


def test_players_run_in_list_order_and_see_each_others_changes(make_scenario):
    def first(i, v, r, s, p):
        r["seen"] = i * 10

    def second(i, v, r, s, p):
        r["copy"] = r["seen"] + 1

    result = simcore.simulate(make_scenario(before=lambda: {"seen": 0}, players=[first, second]), years=0.01)
    assert [row["copy"] for row in result.stats[1:]] == [11, 21, 31, 41]


# --- hooks ----------------------------------------------------------------------------------------------------


def test_hooks_get_the_keywords_they_name_and_after_never_gets_i(make_scenario):
    seen: dict[str, dict[str, Any]] = {}

    def before(**kw):
        seen["before"] = kw
        return {"x": 1}

    def after(**kw):
        seen["after"] = kw

    result = simcore.simulate(make_scenario(vars={"a": 5}, before=before, after=after), years=0.01)
    assert {"v", "p", "years"} <= set(seen["before"])
    assert {"v", "r", "s", "p"} <= set(seen["after"])
    assert "i" not in seen["after"]
    assert seen["after"]["r"] is result.res
    assert seen["after"]["s"] is result.stats
    assert seen["after"]["v"]["a"] == 5
    assert isinstance(seen["after"]["p"]["rng"], random.Random)


def test_a_hook_with_no_arguments_and_one_with_some_are_called(make_scenario):
    def after(r, v):
        r["after"] = v["a"] * 2

    result = simcore.simulate(make_scenario(vars={"a": 5}, before=lambda: {"x": 1}, after=after), years=0.01)
    assert result.res == {"i": 4, "x": 1, "after": 10}
    assert result.nvars == {"a": 5}


def test_an_after_asking_for_i_fails_by_name(make_scenario):
    with pytest.raises(SimulationError, match=r"after failed: TypeError: .*required positional argument: 'i'"):
        simcore.simulate(make_scenario(after=lambda i, r: None), years=0.01)


class Hooks:
    def before(self, v, years, *, scale=2):
        return {"x": v["a"] * scale + years}

    @staticmethod
    def after(s, **given):
        s[0]["given"] = sorted(given)


@pytest.mark.parametrize(
    ("before", "after", "outcome"),
    [
        (Hooks().before, Hooks.after, {"x": 10.01, "given": ["p", "r", "v", "years"]}),
        (lambda v, /: {"x": 1}, None, "before failed: TypeError: .*positional-only arguments passed as keyword"),
        (lambda **given: {"x": sorted(given)}, lambda r, s, v, p, years, extra=3: r.update(extra=extra), None),
    ],
    ids=["method_with_keyword_only_and_kwargs", "positional_only", "kwargs_and_a_default"],
)
def test_hooks_are_called_with_the_keywords_they_name(make_scenario, before, after, outcome):
    scenario = make_scenario(vars={"a": 5}, before=before, after=after)
    if isinstance(outcome, str):
        with pytest.raises(SimulationError, match=outcome):
            simcore.simulate(scenario, years=0.01)
        return
    result = simcore.simulate(scenario, years=0.01)
    if outcome is None:
        assert result.res == {"i": 4, "x": ["p", "v", "years"], "extra": 3}
    else:
        assert {"x": result.stats[0]["x"], "given": result.stats[0]["given"]} == outcome


@pytest.mark.parametrize("initial", [[("x", 1)], 5, "x=1"])
def test_before_must_return_a_dict(make_scenario, initial):
    with pytest.raises(SimulationError, match="before must return a dict"):
        simcore.simulate(make_scenario(before=lambda: initial), years=0.01)


def test_a_state_key_clashing_with_a_plugin_key_is_refused(make_scenario):
    plugins = {"ai": {"type": "token", "ticker": "AI", "supply": 100}}
    with pytest.raises(SimulationError, match="clash"):
        simcore.simulate(make_scenario(plugins=plugins, before=lambda: {"ai": 1}), years=0.01)


# --- players: failures, randomness, read-only v ---------------------------------------------------------------


def test_a_failing_player_is_named_with_the_day(make_scenario):
    def boom(i, v, r, s, p):
        if i == 3:
            raise ValueError("bad trade")

    players = [{"key": "CALM", "fn": counter}, {"key": "BOOM", "fn": boom}]
    with pytest.raises(SimulationError, match=r"player 'BOOM' failed on day 3: ValueError: bad trade"):
        simcore.simulate(make_scenario(before=lambda: {"n": 0}, players=players), years=1)


def test_a_function_shared_by_two_players_is_reported_under_the_key_that_failed(make_scenario):
    def take_one(i, v, r, s, p):
        r["left"] -= 1
        if r["left"] < 0:
            raise ValueError("nothing left")

    players = [{"key": "FIRST", "fn": take_one}, {"key": "SECOND", "fn": take_one}]
    with pytest.raises(SimulationError, match="player 'SECOND' failed on day 2"):
        simcore.simulate(make_scenario(before=lambda: {"left": 3}, players=players), years=1)


def draws_scenario(make_scenario):
    def draw(i, v, r, s, p):
        assert isinstance(p["rng"], random.Random) and p.rng is p["rng"]
        r["draw"] = p["rng"].random()

    return make_scenario(players=[draw])


def test_the_rng_is_seeded_by_the_seed(make_scenario):
    scenario = draws_scenario(make_scenario)

    def draws(seed: int) -> list[float]:
        return [row["draw"] for row in simcore.simulate(scenario, years=0.05, seed=seed).stats[1:]]

    expected = random.Random(7)
    assert draws(7) == [expected.random() for _ in range(19)]
    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_v_is_read_only_inside_players(make_scenario):
    def writer(i, v, r, s, p):
        v["a"] = 2

    scenario = make_scenario(vars={"a": 1}, players=[{"key": "WRITER", "fn": writer}])
    with pytest.raises(SimulationError, match="player 'WRITER' failed on day 1"):
        simcore.simulate(scenario)


# --- plugin state in the results -------------------------------------------------------------------------------


def test_plugin_state_is_in_every_row_and_in_res():
    result = simcore.simulate("ai3_plugins", years=1)
    assert result.stats[0]["dex"] == {"la": 100, "lb": 50, "k": 5000, "pa": 0.5, "pb": 2}
    assert result.stats[0]["ai"] == {"ts": 10000, "price": 0}
    assert result.stats[1]["dex"]["la"] == 90
    assert result.stats[1]["dex"]["lb"] == pytest.approx(5000 / 90, rel=1e-12)
    assert result.stats[2]["dex"] is not result.stats[1]["dex"]
    assert result.res["dex"]["la"] == 71
    assert result.res["ai"]["price"] == pytest.approx(result.res["dex"]["pa"], rel=1e-12)


def test_frame_has_a_row_a_day_and_plugin_columns():
    frame = simcore.simulate("ai3_plugins", years=1).frame()
    assert len(frame) == 366
    assert {"i", "total_buy", "buy", "sell", "dex.la", "dex.lb", "dex.k", "dex.pa", "ai.ts", "ai.price"} <= set(frame)
    assert frame["dex.la"].iloc[1] == 90
    assert frame["dex.la"].iloc[-1] == 71
    assert frame.index.tolist() == list(range(366))


# --- scenario loading ------------------------------------------------------------------------------------------


def test_a_builtin_loads_by_name():
    scenario = simcore.load_scenario("ai3_quickstart")
    assert scenario.name == "ai3_quickstart"
    assert [player.key for player in scenario.players] == ["BUYER", "SELLER"]
    assert "ai3_quickstart" in simcore.builtin_names()
    assert "ai3_plugins" in simcore.builtin_names()


def test_a_file_loads_by_path(tmp_path):
    path = tmp_path / "pair.py"
    path.write_text(
        '"""A file scenario."""\n'
        'vars = {"x": {"name": "X", "val": 2}, "y": {"name": "Y", "val": lambda g, r: r["n"] * g("x")}}\n'
        "def before(v):\n"
        '    return {"n": 0}\n'
        "def tick(i, v, r, s, p):\n"
        '    r["n"] += 1\n'
        'players = [{"key": "TICK", "fn": tick}]\n'
    )
    scenario = simcore.load_scenario(path)
    assert (scenario.name, scenario.description) == ("pair", "A file scenario.")
    assert simcore.simulate(str(path)).nvars == {"x": 2, "y": 730}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('vars = {}\n\nraise RuntimeError("no market")\n', r"RuntimeError at line 3: no market"),
        ("x = 1\ny = 1 / 0\n", r"ZeroDivisionError at line 2"),
        ("x = 1\ndef broken(:\n", r"SyntaxError.*line 2"),
    ],
)
def test_a_file_that_fails_on_import_names_the_exception_and_line(tmp_path, source, message):
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(ScenarioError, match=message):
        simcore.load_scenario(path)


def test_an_unknown_scenario_lists_the_builtins():
    with pytest.raises(ScenarioError, match=r"unknown scenario 'ai3_quikstart'.*ai3_plugins.*ai3_quickstart"):
        simcore.load_scenario("ai3_quikstart")


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"players": [5]}, "player 0 must be"),
        ({"players": [{"key": "NOFN"}]}, "player 0 must be"),
        ({"plugins": {"amm": {"type": "uniswap"}}}, r"unknown type 'uniswap' \(known: .*dex.*token"),
        ({"plugins": {"amm": {"tokenA": "AI"}}}, "'amm': expected a plugin spec"),
        ({"plugins": {"dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC"}}}, "needs the option 'liquidityA'"),
        ({"plugins": {"rng": {"type": "token", "ticker": "AI", "supply": 1}}}, "'rng' is reserved"),
        ({"vars": {"x": {"name": "no value"}}}, "'x' has no 'val'"),
    ],
)
def test_malformed_scenarios_are_named(make_scenario, attrs, message):
    with pytest.raises(ScenarioError, match=message):
        make_scenario(**attrs)
