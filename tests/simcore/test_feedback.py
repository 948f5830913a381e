"""What a run shows a model: the seat's refused actions by reason, its trades, and the run cut into periods.

A tiny deterministic player on a lone 1000 AI / 1000 USDC pool (no fee, no background players) trades twice and
is refused six ways; every count, reason and day is known in advance, and the amounts follow from x*y = k.
"""

import itertools

import pytest
from test_seat import SLOT as SEAT_SLOT

import simcore
from simcore import play
from simcore.feedback import PERIODS, Feedback, periods
from simcore.seat import MAX_REFUSAL_KINDS

SLOT = {**SEAT_SLOT, "observe": {"price": "dex.pa", "state": lambda r, p: {"not": "a number"}}}  # one not a number
DAYS = 12
BUY = 1e6 / 990 - 1000  # the USDC 10 AI cost from the 1000/1000 pool (and what selling them back pays)
REASONS = {  # reason -> (count, first day), in the order they are first met
    "dex.sellA: not enough AI": (1, 2),
    "dex.buyA: the pool cannot fill it": (2, 3),
    "dex.buyA: not enough USDC": (1, 6),
    "dex.sellA: too small to move the market": (1, 7),
    "dex.sellB: not enough USDC": (1, 8),
}  # and a sixth, on day 9, "dex.buyB: the pool cannot fill it": past MAX_REFUSAL_KINDS


def tiny(i, v, r, s, p):
    """Buys 10 AI on day 1 and sells them on day 5; every other action is refused, for a reason of its own."""
    actions = {
        1: lambda: p.dex.buyA(10),
        2: lambda: p.dex.sellA(50),  # holds 10 AI
        3: lambda: p.dex.buyA(2000),  # the pool holds 990
        4: lambda: p.dex.buyA(2000),
        5: lambda: p.dex.sellA(10),
        6: lambda: p.dex.buyA(500),  # about 1041 USDC
        7: lambda: p.dex.sellA(1e-300),  # moves nothing
        8: lambda: p.dex.sellB(500),  # holds about 100 USDC
        9: lambda: p.dex.buyB(2000),  # the pool holds about 1000
    }
    if i in actions:
        actions[i]()


def executed_only(i, v, r, s, p):
    """The same two trades, and nothing refused."""
    if i == 1:
        p.dex.buyA(10)
    if i == 5:
        p.dex.sellA(10)


@pytest.fixture
def scenario(make_scenario) -> simcore.Scenario:
    pool = {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 1000, "liquidityB": 1000}
    return make_scenario(vars={}, plugins={"dex": pool}, players=[], slot=SLOT)


def test_refused_actions_are_counted_by_reason_with_the_first_day(scenario):
    outcome = play(scenario, tiny, years=DAYS / 365)
    assert (outcome.metrics["actions"], outcome.metrics["refused"]) == (2, 7)
    assert len(REASONS) == MAX_REFUSAL_KINDS
    assert {reason: tuple(known) for reason, known in outcome.log.refusals.items()} == REASONS
    assert list(outcome.log.refusals) == list(REASONS)  # in the order met
    (day1, buy, ten, paid), (day5, sell, sold, got) = outcome.log.trades
    assert (day1, buy, ten, day5, sell, sold) == (1, "dex.buyA", 10, 5, "dex.sellA", 10)
    assert paid == pytest.approx(BUY, rel=1e-12) and got == pytest.approx(-BUY, rel=1e-12)


def test_refusals_change_no_metric(scenario):
    refused, clean = (play(scenario, fn, years=DAYS / 365).metrics for fn in (tiny, executed_only))
    assert {**refused, "refused": 0.0} == clean  # bit for bit


def test_the_run_in_periods(scenario):
    outcome = play(scenario, tiny, years=DAYS / 365)
    rows = periods(outcome, 4)
    assert [row["days"] for row in rows] == [[1, 3], [4, 6], [7, 9], [10, 12]]
    assert [row["refused"] for row in rows] == [2, 2, 3, 0]
    assert list(rows[0]["trades"]) == ["dex.buyA"] and list(rows[1]["trades"]) == ["dex.sellA"]
    assert rows[0]["trades"]["dex.buyA"] == [1, 10.0, pytest.approx(BUY, rel=1e-12)]
    assert rows[1]["trades"]["dex.sellA"] == [1, 10.0, pytest.approx(BUY, rel=1e-12)]
    assert rows[2]["trades"] == rows[3]["trades"] == {}
    assert rows[0]["wallet"] == {"USDC": pytest.approx(100 - BUY, rel=1e-12), "AI": 10.0}
    assert rows[1]["wallet"] == rows[3]["wallet"] == {"USDC": pytest.approx(100, rel=1e-12), "AI": 0.0}
    assert rows[3]["wallet"] == outcome.wallet
    # the price the player saw on each period's last day (numbers only: the dict observation is left out)
    assert rows[0]["seen"] == {"price": pytest.approx((1000 + BUY) / 990, rel=1e-12)}
    assert rows[1]["seen"] == {"price": pytest.approx(1, rel=1e-12)}


def test_periods_are_a_run_cut_evenly_or_a_day_each():
    outcome = play("ai3_plugins", executed_only, seed=0)
    rows = periods(outcome)
    assert len(rows) == PERIODS and rows[0]["days"] == [1, 30] and rows[-1]["days"] == [335, 365]
    assert all(a["days"][1] + 1 == b["days"][0] for a, b in itertools.pairwise(rows))
    assert set(rows[0]["seen"]) == {"price", "ai_liquidity", "usdc_liquidity", "total_buy", "total_sell"}
    short = periods(play("ai3_plugins", executed_only, years=3 / 365))
    assert [row["days"] for row in short] == [[1, 1], [2, 2], [3, 3]]
    assert periods(play("ai3_plugins", executed_only, years=0)) == []


def test_feedback_merges_the_runs_refusals_and_keeps_the_first_runs_periods(scenario):
    feedback = Feedback()
    for seed in (4, 9):
        feedback.add(seed, play(scenario, tiny, years=DAYS / 365, seed=seed))
    shown = feedback.to_dict()
    assert (shown["runs"], shown["seed"], shown["others"]) == (2, 4, 2)  # the sixth reason, once a run
    assert shown["refusals"] == [
        {"reason": reason, "count": 2 * count, "runs": 2, "seed": 4, "day": day}
        for reason, (count, day) in REASONS.items()
    ]
    assert shown["periods"] == periods(play(scenario, tiny, years=DAYS / 365, seed=4))
