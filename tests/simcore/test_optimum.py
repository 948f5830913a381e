"""Reference optima and players of the threshold-bot games.

The exact solver is checked against what it claims to model (its plans replayed through the real slot), against
searches that know nothing of its reduction (a grid and a local search on short horizons, random plans, the
reference players: none may beat it), and on hostile markets. The lower bound of the noisy game must be what its
plan scores; the reference players must take their share of the optimum's profit.
"""

import builtins
import itertools
import math
import random
import time
import types

import pytest

import simcore
from simcore import SimulationError, bots, play
from simcore.errors import ScenarioError
from simcore.optimum import (
    ThresholdMarket,
    exact_optimum,
    idle_score,
    market_of,
    optimum_of,
    plan_player,
    search,
    solve,
)
from simcore.references import ai3_reference, threshold_reference

AI3_OPTIMUM = 155.654397  # to 1e-6; an analytic bound agrees to 3e-9
HIDDEN_SEEDS = (*range(20), 1000, 1001, 1002, 1003, 1004)
IDLE = 50.0
# what the sandbox gives a player, of the builtins the references use: they must need nothing else
PLAYER_BUILTINS = ("abs", "min", "max", "len", "range", "sorted", "sum", "float", "int", "list", "dict", "zip")


def replayed(scenario, optimum, seed=0, years=None):
    return play(scenario, plan_player(optimum.plan), years=years, seed=seed)


def share(score, optimum):
    return (score - IDLE) / (optimum - IDLE)


def threshold_scenario(make_scenario, wallet=None, la=100, lb=50, game=None, **bots_values):
    """A threshold market with fixed bots (the `simcore.bots` players) and the hidden games' slot."""
    values = {"buy_below": 1, "buy_size": 10, "sell_above": 1, "sell_size": 7, **bots_values}
    slot = bots.slot("End with as much USDC as possible.", ())
    return make_scenario(
        vars={**values, "__plugins__": {"dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC",
                                                "liquidityA": la, "liquidityB": lb}}},
        before=bots.before, players=bots.BOTS, slot={**slot, "wallet": wallet or slot["wallet"]}, game=game,
    )  # fmt: skip


# --- the exact solver against the real slot ----------------------------------------------------------------------


def test_the_ai3_optimum_is_exact_and_its_plan_scores_it_through_the_real_slot():
    optimum = optimum_of("ai3_plugins", 0)
    assert optimum.exact and optimum.value == pytest.approx(AI3_OPTIMUM, abs=1e-6)
    assert len(optimum.plan) == 365
    outcome = replayed("ai3_plugins", optimum)
    assert outcome.score == pytest.approx(optimum.value, abs=1e-6)
    assert outcome.metrics["refused"] == 0 and outcome.wallet["AI"] < 1e-9


@pytest.mark.parametrize("seed", HIDDEN_SEEDS)
def test_exact_optima_of_hidden_bots_replay_through_the_real_slot(seed):
    optimum = exact_optimum("hidden_bots", seed)
    outcome = replayed("hidden_bots", optimum, seed)
    assert optimum.exact and optimum.value >= IDLE - 1e-9
    assert outcome.score == pytest.approx(optimum.value, abs=1e-6)
    assert outcome.metrics["refused"] == 0


def test_every_seed_draws_its_own_fee_free_market_and_solving_it_takes_well_under_a_second():
    markets = {market_of("hidden_bots", seed) for seed in range(10)}
    assert len(markets) == 10
    assert all(market.fee == 0 and not market.noise and market.days == 365 for market in markets)
    start = time.process_time()
    for market in markets:
        solve(market)
    assert time.process_time() - start < 5  # ~0.1 s a seed here


# --- searches that know nothing of the reduction never beat it -----------------------------------------------------


def replica(market, levels):
    """A fee-free threshold market written out plainly: the USDC at the end of leaving the pool at `levels` (the
    last day sells all), or -inf if the wallet cannot pay for a level."""
    m = market
    la, lb, ai, usdc = m.la, m.lb, m.ai, m.usdc
    k = la * lb
    for day in range(1, m.days + 1):
        if lb / la <= m.buy_below:
            la -= m.buy_size
            lb = k / la
        if lb / la >= m.sell_above:
            la += m.sell_size
            lb = k / la
        x = levels[day - 1] if day < m.days else la + ai
        if x > la + ai + 1e-12 or k / x - lb > usdc + 1e-12:
            return -math.inf
        ai, usdc, la, lb = ai - (x - la), usdc - (k / x - lb), x, k / x
    return usdc


@pytest.mark.parametrize("days", [3, 4])
def test_a_grid_and_a_local_search_on_a_short_horizon_come_close_to_the_solver_and_never_beat_it(days):
    gaps = []
    for seed in range(12):
        market = market_of("hidden_bots", seed, years=days / 365)
        optimum = solve(market)
        grid = [market.la * 0.4 * 7.5 ** (j / 39) for j in range(40 if days == 3 else 20)]
        value, levels = max((replica(market, plan), plan) for plan in itertools.product(grid, repeat=days - 1))
        rng, scale = random.Random(seed), 0.05
        for step in range(2000):
            tried = tuple(x * (1 + rng.gauss(0, scale)) for x in levels)
            if (found := replica(market, tried)) > value:
                value, levels = found, tried
            scale /= 3 if step % 250 == 249 else 1
        assert value <= optimum.value + 1e-9
        if value > IDLE:  # the real slot agrees with the replica
            plan = (*levels, 0.0)
            assert play("hidden_bots", plan_player(plan), years=days / 365, seed=seed).score == pytest.approx(value)
        gaps.append(optimum.value - value)
    assert max(gaps) < 0.5 and sorted(gaps)[len(gaps) // 2] < 1e-4  # a local search may stick on a jump


def test_random_plans_and_the_reference_players_never_beat_the_optimum():
    rng = random.Random(7)
    for seed in range(5):
        optimum = exact_optimum("hidden_bots", seed)
        market = market_of("hidden_bots", seed)
        for _ in range(10):
            start = market.la * rng.uniform(0.6, 1.2)
            plan = tuple(start * rng.uniform(0.9, 1.1) for _ in range(365))
            assert play("hidden_bots", plan_player(plan), seed=seed).score <= optimum.value + 1e-9
        assert play("hidden_bots", threshold_reference, seed=seed).score <= optimum.value + 1e-9
    assert play("ai3_plugins", ai3_reference).score <= AI3_OPTIMUM + 1e-6


def test_the_beam_search_finds_the_exact_optima_of_fee_free_markets_from_below():
    for seed in (0, 3, 5):
        market = market_of("hidden_bots", seed)
        found, optimum = search(market), solve(market)
        assert not found.exact and found.value <= optimum.value + 1e-9
        assert found.value == pytest.approx(optimum.value, abs=1e-6)


# --- hostile and edge cases --------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, 1, 2])
def test_a_run_too_short_to_trade_is_worth_its_starting_wallet(days):
    optimum = exact_optimum("hidden_bots", 3, years=days / 365)
    assert optimum.value == pytest.approx(IDLE, abs=1e-9) if days < 2 else optimum.value >= IDLE
    assert len(optimum.plan) == days
    assert replayed("hidden_bots", optimum, 3, days / 365).score == pytest.approx(optimum.value, abs=1e-9)


def test_a_buyer_big_enough_to_drain_the_pool_is_never_set_off_where_it_would(make_scenario):
    # the buyer takes 80 of a 100 $AI pool: leaving the pool between its threshold level and 80 would crash the run
    scenario = threshold_scenario(make_scenario, buy_size=80, sell_size=30)
    optimum = exact_optimum(scenario, 0)
    assert optimum.value > IDLE
    assert replayed(scenario, optimum).score == pytest.approx(optimum.value, abs=1e-6)


@pytest.mark.parametrize(
    ("wallet", "bots_values"),
    [
        ({"USDC": 20, "AI": 30}, {}),
        ({"USDC": 0, "AI": 10}, {"buy_below": 0.6, "sell_above": 0.4}),
        ({"USDC": 50, "AI": 0}, {"buy_below": 0.5, "sell_above": 0.5, "buy_size": 7, "sell_size": 7}),
        ({"USDC": 50, "AI": 0}, {"buy_below": 0.9, "sell_above": 1.1, "buy_size": 3, "sell_size": 12}),
    ],
)
def test_other_wallets_and_bots_replay_to_their_optimum(make_scenario, wallet, bots_values):
    scenario = threshold_scenario(make_scenario, wallet, **bots_values)
    optimum = exact_optimum(scenario, 0)
    outcome = replayed(scenario, optimum)
    assert outcome.score == pytest.approx(optimum.value, abs=1e-6)
    assert optimum.value >= play(scenario, lambda i, v, r, s, p: None).score - 1e-9


def test_the_exact_solver_refuses_a_fee_or_noise():
    market = market_of("noisy_market", 0)
    assert market.fee > 0 and any(market.noise)
    with pytest.raises(SimulationError, match="fee-free"):
        solve(market)
    with pytest.raises(SimulationError, match="fee-free"):
        solve(ThresholdMarket(100, 50, 1, 10, 1, 7, noise=(0.0, 3.0)))


def test_a_scenario_that_is_not_a_threshold_market_is_refused_by_name():
    with pytest.raises(ScenarioError, match="not a threshold market: no value for"):
        market_of("ai3_plugins", 0)  # its bots are code: their values must be given
    with pytest.raises(ScenarioError, match="no slot"):
        market_of("ai3_quickstart", 0)


# --- the noisy game's lower bound --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_the_noisy_lower_bound_is_what_its_plan_scores_in_the_real_slot(seed):
    bound = optimum_of("noisy_market", seed)
    assert not bound.exact and bound.method.startswith("lower bound")
    assert replayed("noisy_market", bound, seed).score == bound.value
    # the search's copy of the pool (fee, bots, the noise trader's draws) is the real one, to rounding
    assert search(market_of("noisy_market", seed)).value == pytest.approx(bound.value, abs=1e-6)
    assert bound.value > play("noisy_market", threshold_reference, seed=seed).score > IDLE - 5


# --- the reference players ---------------------------------------------------------------------------------------


def test_the_ai3_reference_takes_almost_all_of_the_optimum_profit():
    assert share(play("ai3_plugins", ai3_reference).score, AI3_OPTIMUM) > 0.99


def test_the_hidden_reference_infers_the_market_and_takes_most_of_the_optimum_profit():
    scores = [play("hidden_bots", threshold_reference, seed=seed).score for seed in range(20)]
    optima = [exact_optimum("hidden_bots", seed).value for seed in range(20)]
    assert sum(scores) - IDLE * 20 > 0.85 * (sum(optima) - IDLE * 20)  # measured 0.91 on seeds 0-19
    rich = [share(score, optimum) for score, optimum in zip(scores, optima, strict=True) if optimum > IDLE + 20]
    assert sorted(rich)[len(rich) // 2] > 0.9  # the median share where there is a profit worth taking


@pytest.mark.parametrize(("fn", "scenario"), [(ai3_reference, "ai3_plugins"), (threshold_reference, "hidden_bots")])
def test_the_references_need_nothing_a_sandboxed_player_lacks(fn, scenario):
    isolated = types.FunctionType(fn.__code__, {"__builtins__": {n: getattr(builtins, n) for n in PLAYER_BUILTINS}})
    assert fn.__code__.co_freevars == ()
    assert play(scenario, isolated, seed=1).score == play(scenario, fn, seed=1).score


# --- the games and the service's entry points ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "train", "heldout", "exact"),
    [
        ("ai3_plugins", (0,), (), True),
        ("hidden_bots", tuple(range(10)), (1000, 1001, 1002, 1003, 1004), True),
        ("noisy_market", tuple(range(10)), (1000, 1001, 1002, 1003, 1004), False),
    ],
)
def test_the_games_declare_their_seeds_optimum_and_reference(name, train, heldout, exact):
    game = simcore.load_scenario(name).game
    assert (game.train, game.heldout, game.random) == (train, heldout, name != "ai3_plugins")
    assert game.reference is not None and game.tests
    assert optimum_of(name, train[0]).exact is exact
    assert idle_score(name, train[0]) == IDLE


def test_optima_are_cached_by_content_not_by_name(make_scenario):
    first = optimum_of("hidden_bots", 4)
    assert optimum_of("hidden_bots", 4) is first  # the same content: computed once
    small, big = (threshold_scenario(make_scenario, buy_size=size, game={"optimum": exact_optimum}) for size in (9, 12))
    assert small.name == big.name
    assert optimum_of(small, 0).value != optimum_of(big, 0).value
    assert optimum_of(small, 0) is optimum_of(threshold_scenario(make_scenario, buy_size=9, game=small.game), 0)


def test_a_game_without_an_optimum_has_none(make_scenario):
    scenario = threshold_scenario(make_scenario)
    assert scenario.game is not None and scenario.game.optimum is None
    assert optimum_of(scenario, 0) is None
    assert idle_score(scenario, 0) == IDLE
