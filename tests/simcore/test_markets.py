"""Conservation in every slot market under random action sequences: the dex, the bonding curve and the order book.

For each market hypothesis draws a plan (days, mixed actions, amounts from 1e-12 to the slot's cap, shares of
the wallet or of the market's state, limits around the price, cancels of real and bogus ids) that a player replays
through `play` in the market's built-in scenario, among its background players, on a drawn seed. A `Spy` (a
background player seated just before the slot, and the scenario's `after` hook wrapped) watches the market as the
seat's ledger sees it (the market's own `reserves()` for the seat), so what every call and every collection took
out of the market is recounted from outside the ledger, exactly, and checked against the outcome's exact wallet.

Tolerances: the dex and the curve are checked exactly. A linked token's supply follows the curve's through a
rounded float subtraction and addition, so by at most an ulp a trade. The order book's clearing is float
arithmetic across its accounts (fills at the price, refunds of `qty * limit - paid`, a long side rationed up to
`_DUST` of the volume), so across a night its accounts' total holdings may move by `_DUST` of the day's volume
(in base, and at the price in quote) and by an ulp of the total an order or an account (see `night_tolerance`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcore
from simcore import Player, Scenario, SlotOutcome, play
from simcore.exact import floor_float
from simcore.markets import Market, Reserves
from simcore.plugins.orderbook import _DUST
from simcore.scenario import call_hook

DAYS = 5  # the plan's days; the run lasts exactly as long, so the last day's orders are collected at the close
YEARS = (DAYS - 0.5) / 365  # `day_count` rounds up: DAYS days
MAX_AMOUNT = 1e9  # the slot's default cap on every argument
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

Spec = tuple[Any, ...]  # how the player works an argument out on the day, e.g. ("wallet", "AI", 0.5)
Op = tuple[str, tuple[Spec, ...]]  # an action's name and its arguments' specs
Plan = dict[int, list[Op]]
State = dict[str, Any]  # a market-specific snapshot of the market


# --- watching a market from the host's side ------------------------------------------------------------------


class Spy:
    """The slot's first market as a seat's ledger sees it, read from the host's plugins.

    `watch` is a background player seated last, so just before the slot (which comes after every player): it
    notes the market as the seat's turn begins, before the ledger collects. `wrap` wraps the scenario's `after`
    to note it once more before the run's closing collection. Both only read. `snapshot` takes the market's
    state as a market-specific dict (see `CASES`).
    """

    def __init__(self, scenario: Scenario, snapshot: Callable[[Spy], State], owner: str | None = None) -> None:
        slot = scenario.slot
        assert slot is not None
        self.key = next(iter(slot.actions))
        spec = scenario.plugins[self.key]
        kind = type(spec).market
        assert kind is not None
        self.kind, self.tickers = kind, kind.tickers_of(spec, scenario.plugins)
        self.owner = slot.key if owner is None else owner
        self.accounts = tuple(spec.options.get("accounts", {}))  # an order book's other owners
        self.snapshot = lambda: snapshot(self)
        self.plugins: Mapping[str, Any] = {}
        self.market: Market | None = None
        self.turn_starts: list[tuple[Reserves, State]] = []  # as each turn of the seat began, before it collected
        self.closing: tuple[Reserves, State] | None = None  # after the last day, before the closing collection

    def watch(self, i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        if self.market is None:
            self.plugins = p
            self.market = self.kind(p[self.key], self.tickers, self.owner)
        self.turn_starts.append((self.reserves(), self.snapshot()))

    def wrap(self, hook: Callable[..., Any] | None) -> Callable[..., Any]:
        def after(**available: Any) -> Any:
            self.closing = (self.reserves(), self.snapshot())
            return call_hook(hook, **available)

        return after

    def reserves(self) -> Reserves:
        assert self.market is not None
        return self.market.reserves()

    @property
    def plugin(self) -> Any:
        return self.plugins[self.key]


def watched(scenario: str | Scenario, snapshot: Callable[[Spy], State]) -> tuple[Scenario, Spy]:
    """`scenario` with a Spy seated just before its slot (which must come last) and around its `after`."""
    loaded = simcore.load_scenario(scenario)
    assert loaded.slot is not None and loaded.slot.position is None
    spy = Spy(loaded, snapshot)
    players = (*loaded.players, Player("SPY", spy.watch))
    return replace(loaded, players=players, after=spy.wrap(loaded.after)), spy


def taken(before: Reserves, after: Reserves) -> tuple[Fraction, Fraction]:
    """What a move of the market's reserves took out of it for the seat, per ticker, exactly."""
    return Fraction(before[0]) - Fraction(after[0]), Fraction(before[1]) - Fraction(after[1])


def units_of(amount: Fraction) -> int:
    """An exact balance in units of 2**-1074 (what `floor_float` takes)."""
    scaled = amount * (1 << 1074)
    assert scaled.denominator == 1
    return scaled.numerator


# --- the replaying player ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One call the player made: its arguments, what it returned, the market's reserves and state around it."""

    day: int
    name: str
    args: tuple[float, ...]
    result: float
    before: Reserves
    after: Reserves
    was: State
    now: State


@dataclass
class Trace:
    """What the replaying player saw: every call, and the market as each turn began (after the collection) and
    as it ended."""

    steps: list[Step] = field(default_factory=list)
    opened: list[Reserves] = field(default_factory=list)
    turn_ends: list[State] = field(default_factory=list)


def resolve(spec: Spec, v: Any, handle: Any, ids: list[float]) -> float | None:
    """The argument `spec` stands for today, or None when the slot would not take it (the player skips the call)."""
    kind = spec[0]
    if kind == "abs":
        value = spec[1]
    elif kind == "wallet":
        value = spec[2] * v["wallet"][spec[1]]
    elif kind == "state":
        value = spec[2] * handle.v[spec[1]]
    elif kind == "price":
        value = spec[1] * handle.v["price"]
    elif kind == "afford":  # a bid's qty: a share of the wallet's quote at the last price
        value = spec[1] * v["wallet"]["USDC"] / handle.v["price"]
    elif kind == "mine":
        value = ids[spec[1] % len(ids)] if ids else 0.0
    else:
        raise AssertionError(f"unknown spec {spec!r}")
    return value if 0 < value <= MAX_AMOUNT else None


def replayer(plan: Plan, spy: Spy, trace: Trace) -> Callable[..., None]:
    """A player that makes day i's planned calls on day i and records each one with the market around it."""

    def fn(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        handle = p[spy.key]
        trace.opened.append(spy.reserves())
        ids: list[float] = []  # the ids of today's orders of its own
        for name, specs in plan.get(i, ()):
            args = tuple(value for spec in specs if (value := resolve(spec, v, handle, ids)) is not None)
            if len(args) < len(specs):
                continue
            before, was = spy.reserves(), spy.snapshot()
            result = getattr(handle, name)(*args)
            trace.steps.append(Step(i, name, args, result, before, spy.reserves(), was, spy.snapshot()))
            if name in ("bid", "ask") and result:
                ids.append(result)
        trace.turn_ends.append(spy.snapshot())

    return fn


# --- the markets ---------------------------------------------------------------------------------------------

magnitudes = st.one_of(
    st.floats(min_value=-12, max_value=9).map(lambda e: min(float(f"{10**e:.6g}"), MAX_AMOUNT)),
    st.sampled_from([5e-324, 1e-300, 1e-12, 0.1, 1 / 3, 1.0, 7, 999.9999999999999, MAX_AMOUNT]),
    st.integers(min_value=1, max_value=10**9),
)
shares = st.one_of(st.sampled_from([1.0, 0.5, 1e-6]), st.floats(min_value=1e-9, max_value=1.0))
absolute = st.tuples(st.just("abs"), magnitudes)


def of(kind: str, *names: str) -> st.SearchStrategy[Spec]:
    """A share of one of the wallet's tickers (`kind` "wallet") or of the market's state fields ("state")."""
    return st.tuples(st.just(kind), st.sampled_from(names), shares)


def actions(params: Mapping[str, tuple[st.SearchStrategy[Spec], ...]]) -> st.SearchStrategy[Op]:
    """A call of any of the market's actions, each argument drawn from its strategy."""
    return st.one_of(*(st.tuples(st.just(name), st.tuples(*specs)) for name, specs in params.items()))


dex_amount = st.one_of(absolute, of("wallet", "AI", "USDC"), of("state", "la", "lb"))
bond_tokens = st.one_of(absolute, of("wallet", "CURVE"), of("state", "supply"))
book_qty = st.one_of(absolute, of("wallet", "AI"))
book_limit = st.one_of(
    st.tuples(st.just("abs"), st.one_of(magnitudes, st.floats(min_value=0.5, max_value=2))),
    st.tuples(st.just("price"), st.one_of(st.just(1.0), st.floats(min_value=0.5, max_value=2))),
)
book_ids = st.one_of(
    st.tuples(st.just("mine"), st.integers(0, 9)),
    st.tuples(st.just("abs"), st.one_of(st.integers(1, 120), st.sampled_from([0.5, 3.5, 1e9]))),  # others', old
)


def dex_state(spy: Spy) -> State:
    return dict(spy.plugin.v)


def bond_state(spy: Spy) -> State:
    return {**spy.plugin.v, "ts": spy.plugins["curve"].v["ts"]}


def book_state(spy: Spy) -> State:
    """Every account's holdings in the book (its free balance plus its open orders' reservations), by owner."""
    return {owner: spy.plugin.custody(owner) for owner in (*spy.accounts, spy.owner)}


@dataclass(frozen=True)
class Case:
    """A market's built-in scenario, how calls of its actions are drawn and how its state is snapshotted."""

    scenario: str
    ops: st.SearchStrategy[Op]
    snapshot: Callable[[Spy], State]


CASES = {
    "dex": Case("ai3_plugins", actions(dict.fromkeys(("buyA", "sellA", "buyB", "sellB"), (dex_amount,))), dex_state),
    "bonding": Case(
        "bonding_curve",
        actions({"buy": (bond_tokens,), "sell": (bond_tokens,), "spend": (st.one_of(absolute, of("wallet", "USDC")),)}),
        bond_state,
    ),
    "orderbook": Case(
        "orderbook",
        actions(
            {
                "bid": (st.one_of(book_qty, st.tuples(st.just("afford"), shares)), book_limit),
                "ask": (book_qty, book_limit),
                "cancel": (book_ids,),
            }
        ),
        book_state,
    ),
}


def plans(ops: st.SearchStrategy[Op]) -> st.SearchStrategy[Plan]:
    """Up to 10 calls (the slot's daily cap) on each of some of the days."""
    return st.dictionaries(st.integers(1, DAYS), st.lists(ops, max_size=10), max_size=DAYS)


@dataclass
class Run:
    """A replayed plan: the outcome, the spy's and the player's records, and the slot it played."""

    outcome: SlotOutcome
    spy: Spy
    trace: Trace
    slot: simcore.Slot


def replay(case: Case, plan: Plan, seed: int) -> Run:
    """`plan` replayed in the case's scenario, watched."""
    loaded, spy = watched(case.scenario, case.snapshot)
    trace = Trace()
    outcome = play(loaded, replayer(plan, spy, trace), years=YEARS, seed=seed)
    assert loaded.slot is not None
    return Run(outcome, spy, trace, loaded.slot)


# --- what holds in every market ------------------------------------------------------------------------------


def check_conservation(run: Run) -> None:
    """The wallet moved by exactly what left the market for the seat: by the player's calls, by each collection
    as a turn began and by the closing one; no balance ever negative; the floats shown are the exact ones
    rounded down."""
    outcome, spy, trace = run.outcome, run.spy, run.trace
    assert len(spy.turn_starts) == len(trace.opened) == DAYS and spy.closing is not None
    moves = [(step.before, step.after) for step in trace.steps]
    moves += [(start, opened) for (start, _), opened in zip(spy.turn_starts, trace.opened, strict=True)]
    moves.append((spy.closing[0], spy.reserves()))
    for n, ticker in enumerate(spy.tickers):
        recount = sum(taken(before, after)[n] for before, after in moves)
        assert outcome.exact_wallet[ticker] - Fraction(run.slot.wallet[ticker]) == recount, ticker
    for ticker, exact in outcome.exact_wallet.items():
        assert exact >= 0 and outcome.wallet[ticker] == floor_float(units_of(exact))
    assert all(row["player"][ticker] >= 0 for row in outcome.result.stats[1:] for ticker in spy.tickers)


def check_scoring(run: Run) -> None:
    """The score is the comp's metric; every call was executed or refused (a refused one moved nothing), and the
    log lists the executed ones with what they returned."""
    outcome, steps = run.outcome, run.trace.steps
    assert outcome.score == outcome.metrics[run.slot.comp]
    assert all(math.isfinite(value) for value in outcome.metrics.values())
    assert outcome.metrics["actions"] + outcome.metrics["refused"] == len(steps)
    executed = [(s.day, f"{run.spy.key}.{s.name}", s.args[0], s.result) for s in steps if s.result != 0.0]
    assert outcome.log.trades == executed
    assert all(step.before == step.after and step.was == step.now for step in steps if step.result == 0.0)


def same_outcome(first: SlotOutcome, second: SlotOutcome) -> bool:
    """Two outcomes equal in everything scored and shown, bit for bit."""
    names = ("score", "metrics", "wallet", "exact_wallet")
    return all(getattr(first, name) == getattr(second, name) for name in names) and (
        first.log == second.log and first.result.stats == second.result.stats
    )


# --- what holds in each market -------------------------------------------------------------------------------


def product(reserves: Reserves) -> Fraction:
    return Fraction(reserves[0]) * Fraction(reserves[1])


def check_dex(run: Run) -> None:
    """No trade of the seat lowers the pool's product, nor moves the side it names by more than the amount; the
    fee-free pool's `k` stays what it was."""
    k = run.outcome.result.v["dex_k"]
    for step in run.trace.steps:
        assert product(step.after) >= product(step.before), step
        named = 0 if step.name.endswith("A") else 1
        assert abs(Fraction(step.after[named]) - Fraction(step.before[named])) <= Fraction(step.args[0]), step
        assert step.now["k"] == step.was["k"] == k


def check_bonding(run: Run) -> None:
    """After every call the reserve is exactly the area up to the supply, and the price the curve's there; the
    linked token's supply moves with the curve's within an ulp a trade (a rounded difference, added rounded)."""
    curve = run.spy.plugin.curve
    states = [state for step in run.trace.steps for state in (step.was, step.now)]
    states += [state for _, state in run.spy.turn_starts] + run.trace.turn_ends
    for state in states:
        assert state["reserve"] == curve.integral(0.0, state["supply"]), state
        assert state["price"] == curve.price(state["supply"]), state
    for step in run.trace.steps:
        was, now = step.was, step.now
        drift = (Fraction(now["ts"]) - Fraction(was["ts"])) - (Fraction(now["supply"]) - Fraction(was["supply"]))
        assert abs(drift) <= math.ulp(max(was["ts"], now["ts"], was["supply"], now["supply"])), step


def book_totals(state: State) -> tuple[Fraction, Fraction]:
    """What the book holds across all its accounts, base and quote."""
    return sum(Fraction(held[0]) for held in state.values()), sum(Fraction(held[1]) for held in state.values())


def night_tolerance(row: State, totals: Sequence[Fraction], owners: int) -> tuple[float, ...]:
    """How far a night (a clearing, and the next day's orders posted from free balances) may move the book's
    totals: the long side rationed up to `_DUST` of the volume past the short one (twice, for both sides), and
    an ulp of the total for each order settled or posted (a day's cap, 2 + 4 background and 10 of the seat's)
    and each account's balance rounded."""
    book = row["orderbook"]
    ulps = 2 * (16 + owners)
    return tuple(
        2 * _DUST * book["volume"] * scale + ulps * math.ulp(float(total))
        for scale, total in zip((1.0, book["price"]), totals, strict=True)
    )


def check_orderbook(run: Run) -> None:
    """The seat's calls move no other account's holdings (refused cancels of others' ids included); across every
    night the book's total holdings move only by the clearing's rounding (`night_tolerance`); and after the close
    the seat's account is empty: everything it was owed is in the wallet."""
    spy, trace, stats = run.spy, run.trace, run.outcome.result.stats
    for step in trace.steps:
        others = [owner for owner in step.was if owner != spy.owner]
        assert all(step.now[owner] == step.was[owner] for owner in others), step
    assert spy.closing is not None
    nights = zip(trace.turn_ends, [state for _, state in spy.turn_starts[1:]] + [spy.closing[1]], strict=True)
    for day, (evening, morning) in enumerate(nights, start=1):
        before, after = book_totals(evening), book_totals(morning)
        tolerance = night_tolerance(stats[day], before, len(evening))
        assert all(abs(a - b) <= tol for a, b, tol in zip(after, before, tolerance, strict=True)), (day, tolerance)
    assert spy.reserves() == (0.0, 0.0)
    assert spy.plugin.balance(spy.owner) == {"base": 0.0, "quote": 0.0}


CHECKS: dict[str, Callable[[Run], None]] = {"dex": check_dex, "bonding": check_bonding, "orderbook": check_orderbook}


@pytest.mark.parametrize("market", CASES)
@PROPERTY
@given(data=st.data())
def test_random_action_sequences_conserve_every_token_and_score_the_same_twice(market: str, data: st.DataObject):
    case = CASES[market]
    plan = data.draw(plans(case.ops), label="plan")
    seed = data.draw(st.integers(0, 3), label="seed")
    run = replay(case, plan, seed)
    check_conservation(run)
    check_scoring(run)
    CHECKS[market](run)
    assert same_outcome(run.outcome, replay(case, plan, seed).outcome)
