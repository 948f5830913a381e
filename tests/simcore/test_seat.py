"""The seat's guarantees, with plain Python players: actions are atomic and taken only in the player's own turn,
an invalid action ends the run whatever the player catches, trades settle exactly and never round in the
player's favour, and the conservation audit names what broke.

Players here are trusted Python (they may call `gc.collect()`, keep objects anywhere): the sandbox adds the
language and process layers on top, but these rules are the seat's own.
"""

import contextlib
import gc
import math
from fractions import Fraction

import pytest
from faulty_markets import HookedDex, HookedDexSpec

from simcore import InvalidAction, InvariantViolation, SimulationError, play
from simcore.ledger import Ledger
from simcore.plugins import Dex, DexSpec
from simcore.plugins.dex import DexMarket
from simcore.seat import PlayerRandom

POOL = {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 1000, "liquidityB": 1000}
SLOT = {
    "goal": "End with as much USDC as possible.",
    "comp": "usdc",
    "wallet": {"USDC": 100, "AI": 0},
    "quote": "USDC",
    "actions": {"dex": ("buyA", "sellA", "buyB", "sellB")},
    "observe": {"price": "dex.pa"},
}


@pytest.fixture
def pool_scenario(make_scenario):
    def build(players=(), plugins=None, **fields):
        return make_scenario(vars={}, plugins=plugins or {"dex": POOL}, players=list(players), slot={**SLOT, **fields})

    return build


def cause_of(excinfo):
    return excinfo.value.__cause__


def background(fn):
    return {"key": "BACKGROUND", "fn": fn}


def finaliser_that_trades(handle, amount=1.0):
    """Garbage in a reference cycle whose finaliser calls `handle.buyA`: it runs whenever the collector does."""

    def gen():
        try:
            yield
        finally:
            handle.buyA(amount)

    running = gen()
    next(running)
    cycle = [running]
    cycle.append(cycle)


# --- in turn, one at a time --------------------------------------------------------------------------------


def test_a_handle_called_by_another_player_is_an_invalid_action(pool_scenario):
    kept = []

    def player(i, v, r, s, p):
        kept.append(p.dex)

    def thief(i, v, r, s, p):
        if kept:
            kept[0].buyA(5)

    scenario = pool_scenario(players=[background(thief)], position=0)
    with pytest.raises(SimulationError, match="outside the player's turn") as excinfo:
        play(scenario, player, years=3 / 365)
    assert isinstance(cause_of(excinfo), InvalidAction)


SWALLOWED = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # a finaliser's raise


@SWALLOWED
def test_a_finaliser_that_trades_out_of_turn_ends_the_run_at_the_players_next_turn(pool_scenario):
    def player(i, v, r, s, p):
        if i == 1:
            finaliser_that_trades(p.dex)

    def collector(i, v, r, s, p):
        gc.collect()  # the finaliser runs now, in the background player's turn: its exception is swallowed

    scenario = pool_scenario(players=[background(collector)])  # the slot plays last, so the collector runs first
    with pytest.raises(SimulationError, match=r"failed on day 2: InvalidAction: .*outside the player's turn"):
        play(scenario, player, years=5 / 365)


def test_a_finaliser_run_in_the_players_turn_trades_as_the_player(pool_scenario):
    def player(i, v, r, s, p):
        if i == 1:
            finaliser_that_trades(p.dex, 2.0)
            gc.collect()  # in the player's own call of fn, not inside an action: it is the player's trade

    outcome = play(pool_scenario(), player, years=2 / 365)
    assert outcome.metrics["actions"] == 1 and outcome.exact_wallet["AI"] == 2


@pytest.fixture
def hooked(pool_scenario):
    yield pool_scenario(plugins={"dex": HookedDexSpec(**{k: x for k, x in POOL.items() if k != "type"})})
    HookedDex.hook = None


def test_an_action_inside_another_is_invalid_and_changes_nothing(hooked):
    seen = []

    def player(i, v, r, s, p):
        before = (dict(v["wallet"]), dict(p.dex.v))
        HookedDex.hook = lambda: p.dex.sellB(50)  # re-entry: an action while buyA runs
        try:
            p.dex.buyA(10)
        finally:
            HookedDex.hook = None
            seen.append(before == (dict(v["wallet"]), dict(p.dex.v)))

    with pytest.raises(SimulationError, match="while another action was running") as excinfo:
        play(hooked, player, years=1 / 365)
    assert isinstance(cause_of(excinfo), InvalidAction)
    assert seen == [True]


@SWALLOWED
def test_a_finaliser_collected_inside_a_trade_cannot_act_and_ends_the_run(hooked):
    def player(i, v, r, s, p):
        finaliser_that_trades(p.dex)
        HookedDex.hook = gc.collect  # the collector runs inside the trade; the finaliser's action must fail
        p.dex.buyA(10)
        HookedDex.hook = None

    with pytest.raises(SimulationError, match="while another action was running"):
        play(hooked, player, years=1 / 365)


def test_a_handle_from_an_earlier_run_is_dead(pool_scenario):
    kept = []
    first = play(pool_scenario(), lambda i, v, r, s, p: kept.append(p.dex), years=1 / 365)

    def player(i, v, r, s, p):
        kept[0].buyA(10)

    with pytest.raises(SimulationError, match="outside the player's turn"):
        play(pool_scenario(), player, years=1 / 365)
    assert first.result.res["dex"]["la"] == 1000


@pytest.mark.parametrize("mistake", [lambda p: p.dex.buyA(-1), lambda p: p.dex.buyA(float("nan")), "cap"])
def test_an_invalid_action_caught_by_the_player_still_ends_the_run(pool_scenario, mistake):
    after = []

    def player(i, v, r, s, p):
        try:
            if mistake == "cap":
                for _ in range(11):
                    p.dex.buyA(0.5)
            else:
                mistake(p)
        except InvalidAction:
            pass
        for action in (p.dex.buyA, p.dex.sellB):
            try:
                action(1)
                after.append("traded")
            except InvalidAction:
                after.append("refused")

    with pytest.raises(SimulationError, match="failed on day 1: InvalidAction"):
        play(pool_scenario(), player, years=5 / 365)
    assert after == ["refused", "refused"]


def test_the_players_rng_cannot_be_seeded_from_the_system():
    rng = PlayerRandom("player:0")
    for arguments in ((), (None,)):
        with pytest.raises(ValueError, match=r"rng\.seed\(\) needs a value"):
            rng.seed(*arguments)
    rng.seed(7)
    reseeded = rng.random()
    rng.seed(7)
    assert rng.random() == reseeded


# --- settled exactly, nothing for nothing ------------------------------------------------------------------


@pytest.mark.parametrize("action", ["buyA", "sellA", "buyB", "sellB"])
@pytest.mark.parametrize("amount", [5e-324, 1e-300, 1e-20, 5e-14])
def test_a_trade_too_small_to_move_the_pool_is_refused_and_gives_nothing(pool_scenario, action, amount):
    def player(i, v, r, s, p):
        if i == 1:
            p.dex.buyA(1)  # hold some AI, so that the sales are affordable
        for _ in range(9):
            getattr(p.dex, action)(amount)

    outcome = play(pool_scenario(), player, years=30 / 365)
    bought = play(pool_scenario(), lambda i, v, r, s, p: p.dex.buyA(1) if i == 1 else None, years=30 / 365)
    assert outcome.exact_wallet == bought.exact_wallet
    assert outcome.result.res["dex"] == bought.result.res["dex"]
    assert outcome.metrics["refused"] == 9 * 30


def test_selling_the_whole_balance_shown_always_settles(pool_scenario):
    def player(i, v, r, s, p):
        if i % 2:
            p.dex.buyA(0.1 + i / 37)
        else:
            r.setdefault("returns", []).append(p.dex.sellA(v["wallet"]["AI"]))

    outcome = play(pool_scenario(), player, years=60 / 365)
    assert outcome.metrics["refused"] == 0 and outcome.metrics["actions"] == 60
    assert all(received < 0 for received in outcome.scratch["returns"])
    assert outcome.exact_wallet["AI"] < Fraction(1, 10**12)  # at most the dust a float could not show


def test_a_balance_is_shown_rounded_down_and_measured_exactly(pool_scenario):
    outcome = play(pool_scenario(), lambda i, v, r, s, p: p.dex.buyA(0.1) if i == 1 else None, years=1 / 365)
    for ticker, exact in outcome.exact_wallet.items():
        shown = outcome.wallet[ticker]
        assert Fraction(shown) <= exact < Fraction(math.nextafter(shown, math.inf))
    assert outcome.metrics["usdc"] == outcome.wallet["USDC"]


@pytest.mark.parametrize("fee", [0, 0.003])
def test_tokens_are_conserved_exactly_with_background_players(make_scenario, fee):
    def bot(i, v, r, s, p):
        (p.dex.buyA if i % 3 else p.dex.sellA)(1.7 * i)

    def player(i, v, r, s, p):
        r[i] = (p.dex.v["la"], p.dex.v["lb"])  # the pool as the player's turn begins
        if i % 2:
            p.dex.buyA(0.3 * i)
        elif v["wallet"]["AI"]:
            p.dex.sellA(v["wallet"]["AI"] / 2)

    scenario = make_scenario(
        vars={}, plugins={"dex": {**POOL, "fee": fee}}, players=[{"key": "BOT", "fn": bot}], slot=SLOT
    )
    outcome = play(scenario, player, years=40 / 365)
    stats, seen = outcome.result.stats, outcome.scratch
    moved_by_bot = [
        Fraction(seen[d][side]) - Fraction(stats[d - 1]["dex"][field])
        for d in seen
        for side, field in enumerate(("la", "lb"))
    ]
    final = outcome.result.res["dex"]
    total_ai = Fraction(final["la"]) + outcome.exact_wallet["AI"] - sum(moved_by_bot[0::2])
    total_usdc = Fraction(final["lb"]) + outcome.exact_wallet["USDC"] - sum(moved_by_bot[1::2])
    assert (total_ai, total_usdc) == (1000, 1100)


def test_a_market_moved_outside_a_trade_during_the_turn_is_a_conservation_breach(make_scenario):
    class MovingDex(Dex):
        """A faulty pool: quoting a trade moves the other pool."""

        def quote(self, action, amount):
            other.v["lb"] += 1
            return super().quote(action, amount)

    class MovingDexSpec(DexSpec):
        kind = "moving_dex"

        def build(self, key, v, plugins, rng):
            return MovingDex(key, "AI", "USDC", v["dex_ai_il"], v["dex_usdc_il"], 0)

    class OtherSpec(DexSpec):
        kind = "other_dex"

        def build(self, key, v, plugins, rng):
            nonlocal other
            other = super().build(key, v, plugins, rng)
            return other

    other = None
    options = {k: x for k, x in POOL.items() if k != "type"}
    slot = {**SLOT, "actions": {"dex": ("buyA",), "dex2": ("buyA",)}}
    scenario = make_scenario(
        vars={}, plugins={"dex": MovingDexSpec(**options), "dex2": OtherSpec(**options)}, slot=slot
    )
    with pytest.raises(
        SimulationError, match=r"'conservation' broken: dex2 moved outside a trade: USDC 1001 instead of 1000"
    ) as exc:
        play(scenario, lambda i, v, r, s, p: p.dex.buyA(1), years=1 / 365)
    assert isinstance(cause_of(exc), InvariantViolation)


def test_the_audit_at_the_end_names_the_token_and_the_amounts():
    dex = Dex("dex", "AI", "USDC", 1000.0, 1000.0, 0)
    ledger = Ledger({"USDC": 100.0, "AI": 0.0}, {"dex": DexMarket(dex, ("AI", "USDC"), "player")})
    ledger.begin_turn()
    assert ledger.trade("dex", "buyA", (10.0,)) > 0
    ledger.end_turn()
    ledger.close("the end of the run")  # honest: no breach
    ledger.balances["USDC"] += ledger.balances["USDC"] // 1000  # a bug that credits 0.1%
    with pytest.raises(InvariantViolation, match=r"USDC: the trades took -10\.1\d* out of .*: 0\.0\d+ USDC appeared"):
        ledger.close("the end of the run")


def test_an_invalid_action_caught_before_the_player_fails_otherwise_is_what_ends_the_run(pool_scenario):
    def player(i, v, r, s, p):
        with contextlib.suppress(InvalidAction):
            p.dex.buyA(-1)
        return 1 / 0

    with pytest.raises(SimulationError, match=r"InvalidAction: dex\.buyA\(-1\)") as excinfo:
        play(pool_scenario(), player, years=1 / 365)
    assert isinstance(cause_of(excinfo), InvalidAction)


class FailingDex(Dex):
    """A pool whose commit fails after it has set its first reserve: a trade left half done."""

    def commit(self, la, lb, k):
        self.v["la"] = la
        raise MemoryError


class FailingDexSpec(DexSpec):
    kind = "failing_dex"

    def build(self, key, v, plugins, rng):
        return FailingDex(key, "AI", "USDC", v["dex_ai_il"], v["dex_usdc_il"], 0)


def test_a_trade_stopped_part_way_ends_the_run_whatever_the_player_catches(pool_scenario):
    scenario = pool_scenario(plugins={"dex": FailingDexSpec(**{k: x for k, x in POOL.items() if k != "type"})})
    later = []

    def player(i, v, r, s, p):
        with contextlib.suppress(MemoryError):
            p.dex.buyA(10)
        try:
            p.dex.sellA(1)
        except MemoryError:
            later.append("raised again")

    with pytest.raises(SimulationError, match="failed on day 1: MemoryError") as excinfo:
        play(scenario, player, years=3 / 365)
    assert isinstance(cause_of(excinfo), MemoryError) and later == ["raised again"]
