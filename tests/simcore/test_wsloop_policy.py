"""The wsloop netlist as a plugin of a scenario, and OceanDAO's seat in it for an evolved policy (the `wsloop` game)."""

from __future__ import annotations

import math
import random
import types
from fractions import Fraction

import pytest

import simcore
from simcore.agents import OCEAN, USD
from simcore.agents.netlist import S_PER_DAY
from simcore.errors import InvalidAction, PluginError, ScenarioError, SimulationError
from simcore.exact import EXPONENT
from simcore.ledger import Ledger
from simcore.netlists import NETLISTS, WsloopStrategy, run_wsloop
from simcore.plugins.netlist import NetlistMarket, NetlistSpec
from simcore.seat import idle, play

GAME = simcore.load_scenario("wsloop")
STATE = NETLISTS["wsloop"].state
ECONOMY = ("price", "supply", "minted", "revenue", "annual_revenue", "fundamentals", "valuation", "marketplaces")


def loop_only(**options: object) -> types.ModuleType:
    """A scenario of the wsloop plugin alone, with these options."""
    module = types.ModuleType("loop_only")
    module.vars = {"__plugins__": {"loop": {"type": "netlist", "netlist": "wsloop", **options}}}
    return module


def pays(**shares: float):
    """A daily policy paying, in turn, these shares of what it still holds (`fund`, `burn`: of its USD; `grant`,
    `retire`: of its OCEAN)."""

    def fn(i, v, r, s, p):
        for action, share in shares.items():
            amount = v["wallet"][USD if action in ("fund", "burn") else OCEAN] * share
            if amount > 0:
                getattr(p.wsloop, action)(amount)

    return fn


def final(outcome) -> dict[str, float]:
    return outcome.result.res["wsloop"]


@pytest.mark.parametrize(("tick", "days"), [(S_PER_DAY, 3650), (3600, 40)])
def test_the_plugin_without_a_player_is_run_wsloop_day_by_day(tick, days) -> None:
    """The same loop at the same tick: every KPI of every day is the netlist's logged value, exactly (10 years of
    daily ticks, and TokenSPICE's own hourly ticks, the plugin's default, for 40 days)."""
    options = {} if tick == 3600 else {"tick": tick}
    stats = simcore.simulate(loop_only(**options), years=days / 365).stats
    frame = run_wsloop(days=days, strategy=WsloopStrategy(tick_seconds=tick))
    assert len(stats) == days + 1 and list(frame["Day"][: days + 1]) == list(range(days + 1))
    for name, kpi in STATE.items():
        assert [row["loop"][name] for row in stats] == list(frame[kpi.column][: days + 1]), name


def test_the_games_economy_without_a_player_is_the_netlists() -> None:
    """`simulate wsloop` goes to the netlist; the game run without a player is the same loop, its analyst included."""
    result = simcore.simulate(GAME)
    frame = run_wsloop(years=10, strategy=WsloopStrategy(tick_seconds=S_PER_DAY))
    assert result.nvars["wsloop_price"] == frame["OCEAN_price"].iat[3650]
    assert result.res["backed_price"] == frame["fundamentals_valuation"].iat[3650] / frame["tot_OCEAN_supply"].iat[3650]


def test_a_seated_pass_through_is_the_loop_as_wired() -> None:
    """The reference player passes on all it collects, as OceanDAO's router does, but a day later: what the router
    received on a day reaches the player's wallet at its next turn. So R&D lags a day (its monthly sum moves by up
    to a day's grant), and as R&D far exceeds the network's sales the marketplaces' growth barely moves: the
    economy's KPIs stay within 1e-9 of the loop's every day."""
    seated, alone = play(GAME, GAME.game.reference), simcore.simulate(GAME)
    lagged = 0
    for row, base in zip(seated.result.stats, alone.stats, strict=True):
        for name in ECONOMY:
            assert math.isclose(row["wsloop"][name], base["wsloop"][name], rel_tol=1e-9), (row["i"], name)
        lagged += not math.isclose(row["wsloop"]["rnd"], base["wsloop"]["rnd"], rel_tol=1e-3)
    assert lagged > 0  # the lag shows in R&D
    assert seated.score == pytest.approx(alone.nvars["wsloop_fundamentals"] / alone.nvars["wsloop_supply"], rel=1e-9)


def test_funding_and_burning_move_the_kpis_as_the_loop_says() -> None:
    """Over 5 years (OPF's grants end after 3: then the seat's R&D is all there is): hoarding starves R&D and
    shrinks revenue; burning USD instead of funding with it burns OCEAN; retiring OCEAN shrinks the supply and
    lifts the price; and the game's comp rewards R&D enough for growth with the rest retired over either extreme."""
    runs = {
        "idle": play(GAME, idle, years=5),
        "pass": play(GAME, pays(fund=1, grant=1), years=5),
        "burn": play(GAME, pays(burn=1, grant=1), years=5),
        "retire": play(GAME, pays(fund=1, retire=1), years=5),
        "mixed": play(GAME, pays(fund=1, grant=0.05, retire=1), years=5),
    }
    kpis = {name: final(outcome) for name, outcome in runs.items()}
    assert kpis["idle"]["revenue"] < kpis["retire"]["revenue"] < kpis["pass"]["revenue"]
    assert kpis["idle"]["growth"] < 0 < kpis["retire"]["growth"] < kpis["pass"]["growth"]
    assert kpis["burn"]["burned"] > kpis["pass"]["burned"] and kpis["burn"]["price"] > kpis["pass"]["price"]
    assert kpis["retire"]["supply"] < kpis["pass"]["supply"] and kpis["retire"]["price"] > 1.5 * kpis["pass"]["price"]
    assert kpis["mixed"]["rnd_to_sales"] < kpis["pass"]["rnd_to_sales"]
    scores = {name: outcome.score for name, outcome in runs.items()}
    assert scores["idle"] < min(scores["pass"], scores["retire"])
    assert scores["mixed"] > 1.4 * max(scores["pass"], scores["retire"])  # neither extreme: the reference is beatable


def test_what_the_seat_paid_in_and_holds_is_what_it_received() -> None:
    """Conservation through the ledger, exactly: the wallet plus what the seat paid into the loop is at most what
    the seat's router received (rounding never favours the seat), short of it only by rounding."""
    plugin = NetlistSpec(netlist="wsloop", tick=S_PER_DAY).build("loop", {}, {}, random.Random(0))
    market = NetlistMarket.open(plugin, NetlistSpec(), {}, "player")
    ledger, account, rng = Ledger({USD: 0.0, OCEAN: 0.0}, {"loop": market}), market.account, random.Random(7)
    for day in range(1, 800):
        ledger.begin_turn()
        ledger.collect()
        for action in rng.sample(("fund", "grant", "burn", "retire"), 2):
            held = ledger.view[USD if action in ("fund", "burn") else OCEAN]
            ledger.trade("loop", action, (held * rng.uniform(0, 1.2) + 1e-9,))  # too much is refused
        ledger.end_turn()
        plugin.end_day(day)
    ledger.close("the test's end")
    assert account.received[OCEAN] > 0 and account.paid[OCEAN] > 0 and account.paid[USD] > 0
    for token in (USD, OCEAN):
        held_and_paid, received = ledger.balances[token] + account.paid[token], account.received[token]
        assert held_and_paid <= received and (received - held_and_paid) * 10**12 <= received
    dao = plugin.netlist.ocean_dao
    assert dao.received(OCEAN) == plugin.v["dao_ocean"] > 0  # the router still notes what it received


def test_the_wallet_pays_at_least_what_it_pays_in_and_collects_at_most_what_came_in() -> None:
    plugin = NetlistSpec(netlist="wsloop", tick=S_PER_DAY).build("loop", {}, {}, random.Random(0))
    market = NetlistMarket.open(plugin, NetlistSpec(), {}, "player")
    ledger = Ledger({USD: 0.0, OCEAN: 0.0}, {"loop": market})
    plugin.end_day(1)
    owed = dict(market.account.owed)
    ledger.begin_turn()
    ledger.collect()
    assert ledger.balances[OCEAN] <= Fraction(owed[OCEAN]) * 2**EXPONENT and ledger.view[OCEAN] > 0
    before, burned = ledger.balances[OCEAN], plugin.netlist.burner.burned
    assert ledger.trade("loop", "retire", (0.1,)) == 0.1
    assert before - ledger.balances[OCEAN] >= Fraction(0.1) * 2**EXPONENT
    assert plugin.netlist.burner.burned == burned + 0.1


def hostile(call):
    """A player that does everything the pass-through does and, on day 3, `call(p.wsloop, wallet)`."""

    def fn(i, v, r, s, p):
        if i == 3:
            call(p.wsloop, v["wallet"])
        pays(fund=1, grant=1)(i, v, r, s, p)

    return fn


@pytest.mark.parametrize(
    "call",
    [
        lambda loop, wallet: loop.fund(-1),
        lambda loop, wallet: loop.grant(float("nan")),
        lambda loop, wallet: loop.burn(float("inf")),
        lambda loop, wallet: loop.retire(2e9),  # past the slot's max_amount
        lambda loop, wallet: loop.fund(True),
        lambda loop, wallet: loop.fund("100"),
        lambda loop, wallet: loop.grant(1, 2),
    ],
)
def test_a_bad_amount_ends_the_run(call) -> None:
    with pytest.raises(SimulationError) as caught:
        play(GAME, hostile(call), years=0.05)
    assert isinstance(caught.value.__cause__, InvalidAction)


def test_a_player_cannot_pay_what_it_does_not_hold_nor_reach_the_loop() -> None:
    """Paying more than the wallet holds is refused and changes nothing; the handle offers no way to the netlist."""
    seen = {}

    def overreach(loop, wallet):
        seen["results"] = [loop.fund(wallet["USD"] + 1), loop.grant(wallet["OCEAN"] + 1), loop.retire(1e8)]
        for name in ("plugin", "netlist", "account", "_actions"):
            seen[name] = hasattr(loop, name) and name != "_actions"
        with pytest.raises(TypeError):
            loop.v["price"] = 1e9
        with pytest.raises(TypeError):
            wallet["OCEAN"] = 1e9

    honest = play(GAME, hostile(lambda loop, wallet: None), years=0.2)
    greedy = play(GAME, hostile(overreach), years=0.2)
    assert seen["results"] == [0.0, 0.0, 0.0] and greedy.metrics["refused"] == 3
    assert not any(seen[name] for name in ("plugin", "netlist", "account"))
    assert greedy.score == honest.score and final(greedy) == final(honest) and greedy.wallet == honest.wallet


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"netlist": "nope"}, "must be one of wsloop"),
        ({"netlist": "wsloop", "tick": 7}, "dividing a day"),
        ({"netlist": "wsloop", "tick": True}, "dividing a day"),
        ({"netlist": "wsloop", "seat": "opc_workers"}, "one of the netlist's routers"),
    ],
)
def test_bad_options_are_named(options, message) -> None:
    module = types.ModuleType("bad")
    module.vars = {"__plugins__": {"loop": {"type": "netlist", **options}}}
    with pytest.raises((PluginError, ScenarioError), match=message):
        simcore.simulate(module, years=0.01)


def test_a_netlist_has_one_seat() -> None:
    plugin = NetlistSpec(netlist="wsloop").build("loop", {}, {}, random.Random(0))
    NetlistMarket.open(plugin, NetlistSpec(), {}, "player1")
    with pytest.raises(PluginError, match="taken"):
        NetlistMarket.open(plugin, NetlistSpec(), {}, "player2")
