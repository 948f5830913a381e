"""Random variables, hidden variables and game declarations: each seed its own market, and what the player sees."""

import random

import pytest

import simcore
from simcore import ScenarioError, VariableError, play, simulate
from simcore.game import Game
from simcore.variables import compute, readers_of, realise, var, with_overrides

POOL = {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50}
SLOT = {
    "goal": "End with as much USDC as possible.",
    "comp": "usdc",
    "wallet": {"USDC": 50, "AI": 0},
    "actions": {"dex": ("buyA", "sellA")},
    "observe": {"price": "dex.pa"},
}
RANDOM_GAMES = ("hidden_bots", "noisy_market")


def seen(store):
    """A player that keeps what it was shown on day 1."""

    def fn(i, v, r, s, p):
        if i == 1:
            store.update(v)

    return fn


def test_a_random_variable_is_drawn_once_per_run_from_its_seed(make_scenario):
    calls = []

    def draw(rng):
        calls.append(1)
        return rng.uniform(0, 1)

    scenario = make_scenario(vars={"x": {"name": "X", "draw": draw}, "twice": {"val": lambda g: 2 * g("x")}})
    first, again, other = (simulate(scenario, seed=seed, years=0) for seed in (1, 1, 2))
    assert first.v["x"] == again.v["x"] == random.Random(1).uniform(0, 1)
    assert other.v["x"] != first.v["x"]
    assert first.v["twice"] == 2 * first.v["x"] and first.nvars["x"] == first.v["x"]  # nvars: the same draw
    assert len(calls) == 3


def test_before_a_run_a_random_variable_and_what_reads_it_are_unknown(make_scenario):
    scenario = make_scenario(vars={"x": var(draw=lambda rng: rng.random()), "y": {"val": lambda g: g("x") + 1}})
    assert compute(scenario.variables) == {"x": None, "y": None}
    assert simcore.Simulator(scenario).get("y") is None


def test_draws_come_first_in_declaration_order_so_the_players_stream_is_the_rest(make_scenario):
    def player(i, v, r, s, p):
        r.setdefault("noise", p["rng"].random())

    scenario = make_scenario(
        vars={"a": var(draw=lambda rng: rng.random()), "b": var(draw=lambda rng: rng.random())},
        players=[player],
    )
    result = simulate(scenario, seed=5, years=1 / 365)
    rng = random.Random(5)
    assert (result.v["a"], result.v["b"], result.res["noise"]) == (rng.random(), rng.random(), rng.random())


def test_a_scenario_without_random_variables_keeps_its_stream():
    assert simulate("bonding_curve", seed=3).nvars == simulate("bonding_curve", seed=3).nvars
    variables = simcore.load_scenario("bonding_curve").variables
    assert realise(variables, random.Random(0)) is variables


def test_set_fixes_a_random_variable(make_scenario):
    scenario = make_scenario(vars={"x": var(draw=lambda rng: rng.random())})
    fixed = with_overrides(scenario.variables, {"x": 7})
    assert {simulate(scenario, seed=s, years=0, overrides={"x": 7}).v["x"] for s in range(3)} == {7}
    assert fixed["x"].draw is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "X", "val": 1, "draw": lambda rng: 1}, "both a 'val' and a 'draw'"),
        ({"name": "X"}, "has no 'val'"),
        ({"name": "X", "draw": 3}, "draw must be a function"),
    ],
)
def test_malformed_random_variables_are_named(make_scenario, spec, message):
    with pytest.raises((ScenarioError, VariableError), match=message):
        make_scenario(vars={"x": spec})


def test_a_draw_that_fails_names_its_variable(make_scenario):
    scenario = make_scenario(vars={"x": var(draw=lambda rng: 1 / 0)})
    with pytest.raises(VariableError, match="'x' failed to draw: ZeroDivisionError"):
        simulate(scenario)


def test_readers_of_follow_formulas_through_other_variables(make_scenario):
    scenario = make_scenario(
        vars={
            "h": var(draw=lambda rng: rng.random()),
            "a": {"val": lambda g: g("h") * 2},
            "b": {"val": lambda g: g("a") + 1},
            "c": {"val": 3},
            "out": {"val": lambda g, r: r["x"] + g("h")},
        }
    )
    assert readers_of(scenario.variables, {"h"}) == {"a", "b"}


def test_hidden_variables_are_not_in_the_players_v(make_scenario):
    shown = {}
    scenario = make_scenario(
        vars={"secret": var(draw=lambda rng: rng.uniform(1, 2)), "public": {"val": 4}},
        plugins={"dex": POOL},
        slot={**SLOT, "hidden": ("secret",)},
    )
    play(scenario, seen(shown), seed=0, years=1 / 365)
    assert "secret" not in shown and shown["public"] == 4


def test_a_visible_variable_computed_from_a_hidden_one_is_refused(make_scenario):
    with pytest.raises(ScenarioError, match=r"variables \['leak'\] are computed from hidden ones"):
        make_scenario(
            vars={"secret": var(draw=lambda rng: rng.random()), "leak": {"val": lambda g: g("secret") + 0}},
            plugins={"dex": POOL},
            slot={**SLOT, "hidden": ("secret",)},
        )


def test_hiding_an_unknown_variable_is_refused(make_scenario):
    with pytest.raises(ScenarioError, match=r"hidden names \['nope'\]"):
        make_scenario(plugins={"dex": POOL}, slot={**SLOT, "hidden": ("nope",)})


@pytest.mark.parametrize(
    ("game", "message"),
    [
        ({"train": ()}, "at least one seed"),
        ({"train": (1, 2), "heldout": (2, 3)}, r"seeds \[2\] are both training and held-out"),
        ({"train": (-1,)}, "ints from 0"),
        ({"train": (True,)}, "ints from 0"),
        ({"train": (1, 1)}, "names a seed twice"),
        ({"optimum": 3}, "optimum must be a function"),
        ({"nope": 1}, r"unknown fields \['nope'\]"),
    ],
)
def test_malformed_games_are_named(make_scenario, game, message):
    with pytest.raises(ScenarioError, match=message):
        make_scenario(plugins={"dex": POOL}, slot=SLOT, game=game)


def test_a_game_needs_a_slot(make_scenario):
    with pytest.raises(ScenarioError, match="a game needs a slot"):
        make_scenario(game={"train": (0,)})


def test_a_slot_without_a_declaration_is_a_deterministic_game_on_seed_0(make_scenario):
    scenario = make_scenario(plugins={"dex": POOL}, slot=SLOT)
    assert scenario.game == Game()


def test_random_variables_make_a_game_random(make_scenario):
    scenario = make_scenario(vars={"x": var(draw=lambda rng: rng.random())}, plugins={"dex": POOL}, slot=SLOT)
    assert scenario.game is not None and scenario.game.random


@pytest.mark.parametrize("name", RANDOM_GAMES)
def test_every_seed_of_a_random_game_is_its_own_market(name):
    def trader(i, v, r, s, p):
        if v["price"] < 0.9 and v["wallet"]["USDC"] > 5:
            p.dex.buyA(3)
        elif v["price"] > 1.0 and v["wallet"]["AI"] >= 3:
            p.dex.sellA(3)

    scores = {play(name, trader, seed=seed).score for seed in range(6)}
    assert len(scores) == 6
    assert play(name, trader, seed=4).score == play(name, trader, seed=4).score


@pytest.mark.parametrize("name", RANDOM_GAMES)
def test_the_random_games_hide_their_market(name):
    scenario = simcore.load_scenario(name)
    shown = {}
    play(scenario, seen(shown), seed=1)
    drawn = {key for key, variable in scenario.variables.items() if variable.draw is not None}
    assert drawn and not drawn & set(shown)
    assert not set(scenario.slot.hidden) & set(shown)
    assert {"buy_below", "sell_above", "buy_size", "sell_size", "dex_ai_il"} <= set(scenario.slot.hidden)


def test_the_deterministic_game_is_the_same_on_every_seed():
    def trader(i, v, r, s, p):
        if v["price"] < 0.9 and v["wallet"]["USDC"] > 5:
            p.dex.buyA(3)
        elif v["price"] > 1.0 and v["wallet"]["AI"] >= 3:
            p.dex.sellA(3)

    assert len({play("ai3_plugins", trader, seed=seed).score for seed in range(3)}) == 1


def test_reseeding_the_players_rng_cannot_replay_the_runs_draws_to_find_the_seed():
    """A hostile player guesses the seed by reseeding its rng with each candidate and drawing the pool's starting
    reserves as the game does: the player's reseeded streams are not the run generator's, so no guess matches."""
    found = {}

    def guesser(i, v, r, s, p):
        if i == 1:
            first = s[0]["ai_liquidity"]
            for guess in range(0, 2000):
                p["rng"].seed(guess)
                if abs(p["rng"].uniform(70, 130) - first) < 1e-9:
                    found["guess"] = guess

    for seed in (3, 1000):
        found.clear()
        play("hidden_bots", guesser, seed=seed, years=2 / 365)
        assert "guess" not in found
    assert simulate("hidden_bots", seed=3, years=0).v["dex_ai_il"] == random.Random(3).uniform(70, 130)


@pytest.mark.parametrize("value", [object(), type("Big", (int,), {})(7), ["a"]])
def test_the_players_rng_takes_only_plain_seeds(value):
    from simcore.seat import PlayerRandom

    rng = PlayerRandom("player:0")
    with pytest.raises(TypeError, match=r"rng\.seed\(\) takes an int"):
        rng.seed(value)
