"""Arenas: several evolved players in one run, each with its own wallet, views and score.

Players here are trusted Python: the seat's rules (own wallet, own handles, benching) are tested as simcore's;
the sandbox's tests (`tests/sandbox/test_match.py`) add hostile code under the language and process layers.
"""

import contextlib
import types
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_seat import POOL, SLOT

import simcore
from simcore import InvalidAction, InvalidOutput, ScenarioError, SimulationError, SlotOutcome, play
from simcore.references import threshold_reference
from simcore.seat import idle, play_match, rotation
from simcore.slot import Slot

ACTIONS = ("buyA", "sellA", "buyB", "sellB")
YEARS = 0.1


def scenario(seats=2, players=(), position=None, **attrs):
    """A pool with `seats` seats, placed at `position` among the given background players (a fresh module, so
    hypothesis can call it)."""
    module = types.ModuleType("arena_test", "An arena built by a test.")
    slot = {**SLOT, "seats": seats, "position": position}
    module.__dict__.update(vars={}, plugins={"dex": POOL}, players=list(players), slot=slot)
    module.__dict__.update(attrs)
    return simcore.load_scenario(module)


def trader(plan):
    """A player that makes the trades `plan` lists for each day ({day: [(action, amount), ...]})."""

    def fn(i, v, r, s, p):
        for action, amount in plan.get(i, ()):
            getattr(p.dex, action)(amount)

    return fn


def contrarian(i, v, r, s, p):
    """Buys $AI below 1 and sells it above: trades the bots' swings, so who moves first matters."""
    if v["price"] < 0.95 and v["wallet"]["USDC"] > 1:
        p.dex.sellB(min(10, v["wallet"]["USDC"]))
    elif v["price"] > 1.0 and v["wallet"]["AI"] > 0:
        p.dex.sellA(v["wallet"]["AI"])


def swinger(i, v, r, s, p):
    """A background player that pushes the price down on odd days and up on even ones."""
    if i % 2:
        p.dex.sellA(60)
    else:
        p.dex.sellB(60)


def scores(outcomes):
    return [outcome.score for outcome in outcomes]


# --- the slot's seats ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seats", [0, 5, True, 2.0, "2"])
def test_seats_are_one_to_four(seats):
    with pytest.raises(ScenarioError, match="seats must be an int from 1 to 4"):
        Slot(**{**SLOT, "seats": seats})


def test_seat_keys_are_the_key_alone_or_numbered():
    assert Slot(**SLOT).seat_keys == ("player",)
    assert Slot(**{**SLOT, "seats": 3, "key": "bot"}).seat_keys == ("bot1", "bot2", "bot3")


def test_a_seat_key_may_not_be_a_plugin_key():
    with pytest.raises(ScenarioError, match="key 'player2' is also a plugin key"):
        scenario(plugins={"dex": POOL, "player2": {**POOL}})


@pytest.mark.parametrize(("name", "seats"), [("arena", 2), ("arena4", 4)])
def test_the_built_in_arenas(name, seats):
    loaded = simcore.load_scenario(name)
    assert loaded.slot.seats == seats and loaded.slot.seat_keys == tuple(f"player{n}" for n in range(1, seats + 1))
    assert f"{seats - 1} rival player" in loaded.slot.goal
    assert loaded.game.train == tuple(range(10)) and loaded.game.heldout == (1000, 1001, 1002, 1003, 1004)
    assert loaded.game.random and set(loaded.slot.hidden) >= {"buy_below", "sell_above", "dex_ai_il"}
    outcomes = play_match(name, [contrarian] * seats, seed=1, years=YEARS)
    assert all(isinstance(outcome, SlotOutcome) for outcome in outcomes)


def test_the_arena_is_the_hidden_bots_market():
    """Against an idle rival a player meets the very market of `hidden_bots` on the same seed."""
    for seed in (0, 3):
        alone = play("hidden_bots", contrarian, seed=seed).metrics
        assert play_match("arena", [contrarian, idle], seed=seed)[0].metrics == alone


def test_played_alone_a_player_meets_the_reference_in_the_other_seats():
    for name, seats in (("arena", 2), ("arena4", 4)):
        rivals = [threshold_reference] * (seats - 1)
        assert play(name, contrarian, seed=2).metrics == play_match(name, [contrarian, *rivals], seed=2)[0].metrics


# --- one run, several wallets ------------------------------------------------------------------------------


def test_each_seat_has_its_own_wallet_views_and_handles():
    seen = {}

    def looker(name):
        def fn(i, v, r, s, p):
            if i == 1 and name == "first":
                p.dex.sellB(40)
            r["day"] = i
            seen[name] = (v, r, s, p, dict(v["wallet"]))

        return fn

    outcomes = play_match(scenario(), [looker("first"), looker("second")], years=2 / 365)
    (v1, r1, s1, p1, w1), (v2, r2, s2, p2, w2) = seen["first"], seen["second"]
    assert w1["USDC"] == 60 and w2 == {"USDC": 100, "AI": 0}
    assert v1 is not v2 and r1 is not r2 and s1 is not s2 and p1 is not p2
    assert p1.dex is not p2.dex and p1["rng"] is not p2["rng"]
    assert set(p1) == set(p2) == {"dex", "rng"}  # no seat's handles show another seat
    assert "player1" not in v2 and "player2" not in v1
    with pytest.raises(TypeError):
        v1["wallet"]["USDC"] = 1e9
    assert outcomes[0].wallet["USDC"] == 60 and outcomes[1].wallet == {"USDC": 100.0, "AI": 0.0}
    assert outcomes[0].scratch == outcomes[1].scratch == {"day": 2}
    assert outcomes[0].result is outcomes[1].result  # one run
    assert outcomes[0].result.res["player1"]["USDC"] == 60 and outcomes[0].result.res["player2"]["USDC"] == 100


def test_the_seats_draw_from_their_own_random_generators():
    drawn = {}

    def draw(name):
        def fn(i, v, r, s, p):
            drawn.setdefault(name, p["rng"].random())

        return fn

    play_match(scenario(), [draw(1), draw(2)], seed=5, years=1 / 365)
    again = dict(drawn)
    drawn.clear()
    play_match(scenario(), [draw(1), draw(2)], seed=5, years=1 / 365, order=(1, 0))
    assert drawn == again and drawn[1] != drawn[2]


def test_a_seat_sees_the_others_trades_only_through_the_market():
    prices = []

    def buyer(i, v, r, s, p):
        p.dex.sellB(50)

    def watcher(i, v, r, s, p):
        prices.append((v["price"], p.dex.v["pa"]))

    play_match(scenario(), [buyer, watcher], years=1 / 365, order=(0, 1))
    assert prices[0][0] == prices[0][1] > 1.0  # observed as its turn begins, the first seat's trade done


@pytest.mark.parametrize("seats", [1, 2, 4])
def test_a_match_of_one_active_seat_is_solo_play(seats):
    arena = scenario(seats, players=[{"key": "SWING", "fn": swinger}])
    alone = play(arena, contrarian, years=YEARS, seed=2)
    match = play_match(arena, [contrarian] + [idle] * (seats - 1), seed=2, years=YEARS)
    assert match[0].metrics == alone.metrics and match[0].exact_wallet == alone.exact_wallet


def test_solo_play_in_an_arena_fills_the_other_seats_with_the_reference():
    calls = []

    def reference(i, v, r, s, p):
        calls.append(i)
        if i == 1:
            p.dex.sellB(20)

    arena = scenario(3, game={"reference": reference})
    outcome = play(arena, idle, years=2 / 365)
    assert calls == [1, 1, 2, 2] and outcome.wallet == {"USDC": 100, "AI": 0}
    assert outcome.result.res["player2"]["USDC"] == outcome.result.res["player3"]["USDC"] == 80


def test_the_seats_play_as_a_block_in_the_order_given():
    calls = []

    def note(name):
        return lambda i, v, r, s, p: calls.append(name)

    arena = scenario(3, players=[{"key": "A", "fn": note("A")}, {"key": "B", "fn": note("B")}], position=1)
    play_match(arena, [note(1), note(2), note(3)], years=1 / 365, order=rotation(3, 2))
    assert calls == ["A", 3, 1, 2, "B"]
    assert rotation(4, 0) == (0, 1, 2, 3) and rotation(4, 5) == (1, 2, 3, 0)


@pytest.mark.parametrize(
    ("fns", "order", "message"),
    [
        ([idle], None, "has 2 seats; give a player fn for each, got 1"),
        ([idle, idle], (0, 0), "order must name each seat 0..1 once"),
        ([idle, idle], (0, "1"), "order must name each seat"),
        ([idle, 3], None, "the player must be a function"),
    ],
)
def test_a_match_checks_its_players_and_order(fns, order, message):
    with pytest.raises(SimulationError, match=message):
        play_match(scenario(), fns, order=order)


# --- conservation, per seat and overall --------------------------------------------------------------------


def recorded(moves):
    """A background player trading random amounts from the run's generator, recording what it put in the pool."""

    def fn(i, v, r, s, p):
        before = (p.dex.v["la"], p.dex.v["lb"])
        rng = p["rng"]
        getattr(p.dex, rng.choice(ACTIONS))(rng.uniform(0.1, 40))
        moves.append((Fraction(p.dex.v["la"]) - Fraction(before[0]), Fraction(p.dex.v["lb"]) - Fraction(before[1])))

    return fn


def self_recording(plan, moves):
    """`trader(plan)` that records, exactly, what each of its own actions moved into the pool."""

    def fn(i, v, r, s, p):
        for action, amount in plan.get(i, ()):
            before = (p.dex.v["la"], p.dex.v["lb"])
            getattr(p.dex, action)(amount)
            moves.append((Fraction(p.dex.v["la"]) - Fraction(before[0]), Fraction(p.dex.v["lb"]) - Fraction(before[1])))

    return fn


amounts = st.one_of(st.floats(min_value=1e-12, max_value=300), st.sampled_from([1.0, 50.0, 99.99, 100.0, 1000.0]))
plans = st.dictionaries(st.integers(1, 6), st.lists(st.tuples(st.sampled_from(ACTIONS), amounts), max_size=4))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4), st.lists(plans, min_size=4, max_size=4), st.integers(0, 3), st.integers(0, 2**32))
def test_tokens_are_conserved_per_seat_and_overall(seats, all_plans, turn, seed):
    background: list[tuple[Fraction, Fraction]] = []
    own = [[] for _ in range(seats)]
    arena = scenario(seats, players=[{"key": "NOISE", "fn": recorded(background)}], position=turn % 2)
    fns = [self_recording(all_plans[k], own[k]) for k in range(seats)]
    outcomes = play_match(arena, fns, seed=seed, years=6 / 365, order=rotation(seats, turn))
    start = {"AI": Fraction(1000), "USDC": Fraction(1000)}
    final = outcomes[0].result.res["dex"]
    pool = {"AI": Fraction(final["la"]), "USDC": Fraction(final["lb"])}
    for ticker, side in (("AI", 0), ("USDC", 1)):
        for k, outcome in enumerate(outcomes):  # each wallet changed by exactly what its own trades took out
            took = -sum((move[side] for move in own[k]), Fraction(0))
            assert outcome.exact_wallet[ticker] - Fraction(SLOT["wallet"].get(ticker, 0)) == took
        wallets = sum((outcome.exact_wallet[ticker] for outcome in outcomes), Fraction(0))
        added = sum((move[side] for move in background), Fraction(0))
        assert pool[ticker] + wallets == start[ticker] + seats * SLOT["wallet"][ticker] + added


# --- fairness ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seats", [2, 4])
def test_a_full_rotation_is_fair_to_identical_players(seats):
    arena = scenario(seats, players=[{"key": "SWING", "fn": swinger}])
    runs = [
        scores(play_match(arena, [contrarian] * seats, seed=7, years=YEARS, order=rotation(seats, j)))
        for j in range(seats)
    ]
    assert len(set(runs[0])) > 1  # who trades first matters...
    by_seat = [sorted(run[k] for run in runs) for k in range(seats)]
    assert all(scores == by_seat[0] for scores in by_seat)  # ...and over a rotation every seat had every place


# --- benched seats -----------------------------------------------------------------------------------------


def failing_on(day, how):
    """Trades like `contrarian`, then on `day` buys 5 $AI and fails `how`."""

    def fn(i, v, r, s, p):
        if i < day:
            return contrarian(i, v, r, s, p)
        fn.calls.append(i)
        p.dex.sellB(5)
        if how == "raise":
            raise ValueError("on purpose")
        if how == "invalid":
            try:
                p.dex.buyA(-1)
            except InvalidAction:
                return None
        return "not a number"

    fn.calls = []
    return fn


def stopping_on(day):
    """The honest part of `failing_on(day, ...)`: the same trades, then nothing."""

    def fn(i, v, r, s, p):
        if i < day:
            return contrarian(i, v, r, s, p)
        if i == day:
            p.dex.sellB(5)
        return None

    return fn


@pytest.mark.parametrize(
    ("how", "cause"), [("raise", ValueError), ("invalid", InvalidAction), ("output", InvalidOutput)]
)
@pytest.mark.parametrize("seats", [2, 4])
def test_a_failing_seat_is_benched_and_changes_nothing_beyond_its_honest_trades(how, cause, seats):
    arena = scenario(seats, players=[{"key": "SWING", "fn": swinger}])
    hostile = failing_on(5, how)
    order = rotation(seats, 1)
    outcomes = play_match(arena, [hostile] + [contrarian] * (seats - 1), seed=3, years=YEARS, order=order)
    honest = play_match(arena, [stopping_on(5)] + [contrarian] * (seats - 1), seed=3, years=YEARS, order=order)
    error = outcomes[0]
    assert isinstance(error, SimulationError) and isinstance(error.__cause__, cause)
    assert str(error).startswith("player 'player1' failed on day 5")
    assert hostile.calls == [5]  # never called again
    assert all(isinstance(o, SlotOutcome) for o in outcomes[1:])
    assert [o.metrics for o in outcomes[1:]] == [o.metrics for o in honest[1:]]
    final = outcomes[1].result.res["player1"]
    assert final == honest[0].result.res["player1"]  # its wallet stays as it was, the failing day's trade included


def test_a_seat_benched_by_a_late_invalid_action_keeps_its_error_and_the_others_play_on():
    kept = []

    def leaker(i, v, r, s, p):
        kept.append(p.dex)

    def thief(i, v, r, s, p):
        if kept:
            with contextlib.suppress(InvalidAction):
                kept[0].sellB(10)  # the first seat's handle, out of its turn: refused, and the owner is to blame

    witnessed = []
    outcomes = play_match(scenario(), [leaker, thief], years=3 / 365, witnesses=[witnessed.append])
    assert isinstance(outcomes[0], SimulationError) and isinstance(outcomes[0].__cause__, InvalidAction)
    assert len(witnessed) == 1
    assert isinstance(outcomes[1], SlotOutcome) and outcomes[1].metrics["actions"] == 0  # the thief moved nothing
    assert outcomes[1].result.res["dex"]["lb"] == 1000


def test_what_no_seat_did_stops_the_match():
    def broken(i, v, r, s, p):
        raise RuntimeError("a broken background player")

    with pytest.raises(SimulationError, match="player 'BROKEN' failed on day 1"):
        play_match(scenario(players=[{"key": "BROKEN", "fn": broken}]), [idle, idle], years=1 / 365)
