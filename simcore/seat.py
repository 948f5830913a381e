"""The seat: one untrusted player fn playing one run of a scenario's slot, through its own wallet and actions.

`play(scenario, fn)` runs the scenario with `fn` seated among the background players and returns its metrics
and score. The player is called `fn(i, v, r, s, p)` once a day, and everything it is handed is its own or
read-only, nested values included:

- `v`: the scenario's variables as they were before the run (but the slot's hidden ones), today's observations
  (the slot's `observe`) and `v["wallet"]`, the wallet's balances by ticker;
- `r`: the player's own scratch dict, kept across days and returned in the outcome; nothing in it counts;
- `s`: rows `{"i": d, **observations}` for days 0..i; today's row is what the player sees now;
- `p`: a handle per plugin named in the slot's `actions`, offering only those actions (`p["dex"].buyA(10)`)
  and the plugin's state as `v`, plus `p["rng"]`, a `random.Random` of the player's own seeded from the run
  seed (reseeding it changes nothing for anyone else). `p.dex` works like `p["dex"]`.

Actions are atomic and taken in turn. An action runs only while the player's own `fn` is being called for
the current day of this run, never while another action runs, with the garbage collector held off, so no
player code (a finaliser included) can see or act on a half-done trade. It takes the arguments its market names
(`simcore.markets`: an `amount`; a `qty` and a `limit`; an `order`), each an int or a float (not a bool) in
`(0, max_amount]`, and at most `max_actions_per_day` are taken a day. Anything else is an invalid action, and an
invalid action ends the run: the player may catch the exception, but the run stops as soon as its `fn` returns,
and every later action raises it again.

A well-formed trade that the wallet cannot pay for, that the market refuses, or that is too small to move a swap
market both ways is *refused*: nothing changes, it returns 0.0 and counts in the `refused` metric (and by its
reason in the outcome's `log`). An executed trade is settled exactly by the ledger (`simcore.ledger`) and returns
what the market says (a dex AI3's signs: `buyA` the token B paid in, `sellA` minus the token B paid out). What a
custody market (an order book) owes the seat comes back to the wallet as each turn begins and when the run ends.

An arena (a slot with `seats` > 1) seats several players in one run: `play_match(scenario, fns, seed, years,
order)` plays them in the order given (a rotation across seeds is fair: `rotation`) and returns an outcome per
seat. Each seat has its own wallet, ledger, views, scratch dict, handles and `p["rng"]` (seeded from its key);
the others' trades move the market between its turns, exactly as background players do, so each ledger audits
its own seat's trades exactly and conservation holds per seat and overall. A seat whose player fails (it raises,
acts invalidly, returns a bad value) is *benched*: its fn is not called again, its wallet stays as it was, its
outcome is the error, and the others play on. `play` on an arena seats its fn in the first seat and the game's
reference player (`game.reference`), or else `idle`, in the others, so a candidate can be scored alone.
"""

from __future__ import annotations

import gc
import random
import reprlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from types import MappingProxyType
from typing import Any, NoReturn

from simcore.checks import is_number, listed
from simcore.engine import Result, ScenarioRef, run
from simcore.errors import (
    InvalidAction,
    InvalidOutput,
    InvariantViolation,
    PluginError,
    ScenarioError,
    SimulationError,
)
from simcore.exact import EXPONENT
from simcore.ledger import Ledger
from simcore.markets import Action, Market, market_type
from simcore.scenario import Player, Scenario, call_hook, load_scenario
from simcore.slot import Observer, Slot
from simcore.views import PLAIN_SCALARS, FrozenMap, FrozenRows, freeze

_NO_SEED = object()
SEED_TYPES = (int, bool, float, str, bytes, bytearray)  # what `random.Random.seed` takes (None aside)
MAX_SCRATCH_KEYS = 1000  # checked daily, so a flood of keys stops at once (the sandbox checks the rest at the end)
MAX_REFUSAL_KINDS = 5  # reasons for refused actions a seat tells apart (the first ones met); all are counted
Witness = Callable[[InvalidAction], None]  # told of every invalid action of a run's handles
Trade = tuple[int, str, float, float]  # an executed action: (day, "dex.buyA", amount, what the action returned)


@dataclass(frozen=True)
class SeatLog:
    """What a seat did, as it happened, for the feedback a model reads (`simcore.feedback`); nothing in it is scored.

    `trades` are its executed actions in order; `refusals` maps each reason an action was refused for (`"dex.buyA:
    not enough USDC"`) to `[count, first day]`, for the first MAX_REFUSAL_KINDS reasons met; `rows` are the
    observations the player saw (its `s`), a row a day from day 0."""

    key: str
    trades: list[Trade]
    refusals: dict[str, list[int]]
    rows: list[Mapping[str, Any]]


@dataclass(frozen=True)
class SlotOutcome:
    """One played run: finite `metrics`, the `score` (the comp's metric), the final `wallet` (each balance
    rounded down to a float) and `exact_wallet` (exactly), the player's `scratch` dict as it left it (not
    validated here), the engine's `result` (the slot's balances and action counts are in `result.res[KEY]` and
    each stats row, KEY the seat's key) and the seat's `log`."""

    metrics: dict[str, float]
    score: float
    wallet: dict[str, float]
    scratch: dict[str, Any]
    result: Result
    exact_wallet: dict[str, Fraction]
    log: SeatLog


class PlayerRandom(random.Random):
    """The player's `p["rng"]`: a `random.Random` seeded from the run's seed, whose reseeding needs a value.

    `seed()` with no value, or None, would read the operating system's entropy, and a player could then score
    differently each time it is evaluated: refused. Any other seed `random.Random` takes (an int, float, str,
    bytes or bytearray) reseeds it, always to the same stream for the same value, but not to `random.Random(a)`'s:
    the value is hashed with a tag first, so a player cannot replay the run's own generator (or its own first
    stream) for a guessed seed and so read a hidden market off the seed.
    """

    def __init__(self, x: str) -> None:
        self._opened = False
        super().__init__(x)

    def seed(self, a: Any = _NO_SEED, version: int = 2) -> None:  # type: ignore[override]
        if not self._opened:  # the seat's own seeding, from the run's seed
            self._opened = True
            super().seed(a, version)
            return
        if a is _NO_SEED or a is None:
            raise ValueError("rng.seed() needs a value (an int, float or str): the system's would change every run")
        if type(a) not in SEED_TYPES:  # exactly these: a subclass could make its repr, so its stream, vary
            raise TypeError(f"rng.seed() takes an int, float, str, bytes or bytearray, not {type(a).__name__}")
        super().seed(f"player reseeded with {type(a).__name__} {a!r}", version)


class ActionHandle:
    """`p[KEY]` as the player sees it: the slot's allowed actions on one plugin, and the plugin's state as `v`."""

    __slots__ = ("_actions", "_key", "_state")

    def __init__(
        self, key: str, market: type[Market], names: Sequence[str], act: Callable[[str, str, tuple[Any, ...]], float],
        state: Mapping[str, Any],
    ) -> None:  # fmt: skip
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_actions", {name: _action(key, name, market.actions[name], act) for name in names})
        object.__setattr__(self, "_state", state)

    @property
    def v(self) -> Mapping[str, Any]:
        """The plugin's current state, read-only (for a dex: `la`, `lb`, `k`, `pa`, `pb`)."""
        return self._state

    def __getattribute__(self, name: str) -> Any:
        # actions first, found in one dict look-up: a player that floods calls costs little per call
        action = object.__getattribute__(self, "_actions").get(name)
        return object.__getattribute__(self, name) if action is None else action

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{self._key} has no action {name!r}; the slot allows {listed(self._actions)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._key}'s handle is read-only")

    def __repr__(self) -> str:
        return f"<{self._key}: {listed(self._actions)}>"


def _action(
    key: str, name: str, spec: Action, act: Callable[[str, str, tuple[Any, ...]], float]
) -> Callable[..., float]:
    def action(*args: Any) -> float:
        return act(key, name, args)

    action.__name__ = action.__qualname__ = name
    action.__doc__ = f"{key}.{name}({', '.join(spec.params)}): executed, the market's result; refused, 0.0."
    return action


class PlayerHandles(FrozenMap):
    """The player's `p`: read-only, with `p.dex` as a shorthand for `p["dex"]` as in the host's handles."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and name in self:
            return self[name]
        raise AttributeError(f"no handle {name!r} (handles: {listed(list(self))})")


def _reader(spec: str | Observer, plugins: Collection[str]) -> Observer:
    """An observation as a function `(r, p)`: a callable as is, a dotted path walked from a plugin's `v` or `r`."""
    if callable(spec):
        return spec
    root, *rest = spec.split(".")

    def read(r: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
        node = p[root].v if root in plugins else r[root]
        for part in rest:
            node = node[part]
        return node

    return read


def idle(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """A player that does nothing: what fills an arena's other seats when its game has no reference player."""


def house_player(scenario: Scenario) -> Callable[..., Any]:
    """What plays an arena's seats that no candidate takes: the game's reference player, else `idle`."""
    game = scenario.game
    return game.reference if game is not None and game.reference is not None else idle


def rotation(seats: int, index: int) -> tuple[int, ...]:
    """The seats' turn order for the `index`-th run of a series: seat `index % seats` first, the rest in turn, so
    over `seats` runs every seat plays at every place once."""
    return tuple((index + n) % seats for n in range(seats))


class Seat:
    """One evolved player seated in one run: its views, its ledger and counts, its daily turn and its actions."""

    reads_rows = False  # it sees its own history, never the run's rows (`simcore.rows`)

    def __init__(
        self, scenario: Scenario, slot: Slot, fn: Callable[..., Any], seed: int, witness: Witness | None = None,
        key: str | None = None,
    ) -> None:  # fmt: skip
        self.scenario, self.slot, self.fn, self.witness = scenario, slot, fn, witness
        self.key = slot.key if key is None else key
        self.error: BaseException | None = None  # why a match benched the seat
        self.executed = self.refused = self.today = self.day = 0
        self.in_turn = self.acting = False
        self.failure: BaseException | None = None  # an invalid action or a failed trade: it ends the run, caught or not
        self.rows: list[Mapping[str, Any]] = []
        self.trades: list[Trade] = []
        self.refusals: dict[str, list[int]] = {}
        self.scratch: dict[str, Any] = {}
        self.rng = PlayerRandom(f"{self.key}:{seed}")
        self.readers = {name: _reader(spec, scenario.plugins) for name, spec in slot.observe.items()}
        self.history = FrozenRows(self.rows)
        # set by `open`, once the plugins exist
        self.variables: dict[str, Any] = {}
        self.ledger = Ledger(slot.wallet, {})
        self.handles = PlayerHandles({})
        self.today_data: dict[str, Any] = {}
        self.view = MappingProxyType(self.today_data)  # the player's v: one read-only window, updated daily

    def open(self, v: Mapping[str, Any], p: Mapping[str, Any], initial: Mapping[str, Any]) -> None:
        """The seat's opening, once the plugins exist and `before` has given the initial state: views, markets."""
        key = self.key
        if key in initial:
            raise SimulationError(f"the state from before has the key {key!r}, which holds the slot; rename one")
        hidden = self.slot.hidden
        self.variables = {name: freeze(value, f"variable {name!r}") for name, value in v.items() if name not in hidden}
        specs = self.scenario.plugins
        try:
            markets = {
                name: market_type(name, specs[name]).open(p[name], specs[name], specs, key)
                for name in self.slot.actions
            }
        except PluginError as exc:
            raise SimulationError(f"the slot's seat {key!r} cannot open its markets: {exc}") from exc
        self.ledger = Ledger(self.slot.wallet, markets)
        actions = {
            name: ActionHandle(name, type(market), self.slot.actions[name], self.act, MappingProxyType(market.plugin.v))
            for name, market in markets.items()
        }
        self.handles = PlayerHandles({**actions, "rng": self.rng})

    def first_row(self, initial: Mapping[str, Any], p: Mapping[str, Any]) -> None:
        """Day 0's row, observed in the initial state (every seat's wallet in it), and the player's `v`."""
        self.rows.append(MappingProxyType({"i": 0, **self.observe({"i": 0, **initial}, p)}))
        self.today_data.update(self.variables, wallet=MappingProxyType(self.ledger.view))

    def observe(self, r: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, Any]:
        """The slot's observations of the current state, frozen."""
        seen = {}
        for name, read in self.readers.items():
            try:
                value = read(r, p)
                seen[name] = value if type(value) in PLAIN_SCALARS else freeze(value, f"observation {name!r}")
            except Exception as exc:
                raise SimulationError(f"slot observation {name!r} failed: {type(exc).__name__}: {exc}") from exc
        return seen

    def record(self) -> dict[str, float]:
        """The slot's entry in the state: balances by ticker and the action counts."""
        return {**self.ledger.view, "actions": self.executed, "refused": self.refused}

    def __call__(self, i: int, v: Any, r: dict[str, Any], s: Any, p: Any) -> None:
        """The player's turn on day `i`: the only time its actions run."""
        if self.failure is not None:  # an action called out of turn (by a finaliser) since the last turn
            raise self.failure
        seen = self.observe(r, p)
        self.rows.append(MappingProxyType({"i": i, **seen}))
        self.today_data.update(seen)
        self.ledger.begin_turn()
        self.ledger.collect()
        self.day, self.today = i, 0
        self.in_turn = True
        try:
            out = self.fn(i, self.view, self.scratch, self.history, self.handles)
        except BaseException as exc:
            if self.failure is not None and self.failure is not exc:  # an invalid action it caught comes first
                raise self.failure from exc
            if isinstance(exc, (Exception, KeyboardInterrupt)):
                raise
            # SystemExit and the like: the engine stops only Exceptions, so these would escape the run
            raise SimulationError(f"the player raised {type(exc).__name__}; a player fn must return") from exc
        finally:
            self.in_turn = False
        if self.failure is not None:  # an invalid action the player caught
            raise self.failure
        try:
            self.ledger.end_turn()
        except InvariantViolation as exc:
            raise InvariantViolation(f"{exc} (at the end of day {i})") from None
        if out is not None and not (type(out) in (int, float) and is_number(out)):
            raise InvalidOutput(f"the player returned {reprlib.repr(out)}; return None or a finite int or float")
        if len(self.scratch) > MAX_SCRATCH_KEYS:
            raise InvalidOutput(f"the player's r holds {len(self.scratch)} keys; the limit is {MAX_SCRATCH_KEYS}")
        r[self.key] = self.record()

    def turn_or_bench(self, i: int, v: Any, r: dict[str, Any], s: Any, p: Any) -> None:
        """The seat's turn in a match: a failure benches it (its fn is not called again, its wallet stays as it
        was, trades of the failing turn included) instead of stopping the run; `error` says why, as `play` would."""
        if self.error is not None:
            return
        try:
            self(i, v, r, s, p)
        except Exception as exc:
            self.error = SimulationError(f"player {self.key!r} failed on day {i}: {type(exc).__name__}: {exc}")
            self.error.__cause__ = exc
            r[self.key] = self.record()

    turn_or_bench.reads_rows = False  # type: ignore[attr-defined]

    def act(self, key: str, action: str, args: tuple[Any, ...]) -> float:
        """One action of the player: checked, then executed or refused against the wallet, all at once."""
        if self.failure is not None:
            raise self.failure
        what = f"{key}.{action}"
        params = self.ledger.markets[key].actions[action].params
        if self.acting:
            self._fail(f"{what} was called while another action was running (from a finaliser?); actions never nest")
        if not self.in_turn:
            self._fail(f"{what} was called outside the player's turn; actions run only while fn is called for a day")
        slot = self.slot
        if self.today >= slot.max_actions_per_day:
            self._fail(f"{what}: at most {slot.max_actions_per_day} actions a day")
        if len(args) != len(params):
            self._fail(f"{what} takes {len(params)} argument(s) ({', '.join(params)}), got {len(args)}")
        for n in range(len(params)):  # no allocation a collection could follow before the collector is held off
            amount = args[n]
            if type(amount) not in (int, float) or not 0 < amount <= slot.max_amount:
                self._fail(
                    f"{what}({', '.join(map(reprlib.repr, args))}): the {params[n]} must be an int or float in "
                    f"(0, {slot.max_amount:g}]"
                )
        self.today += 1
        self.acting = True
        collecting = gc.isenabled()
        gc.disable()  # no finaliser may run inside a trade
        try:
            result = self.ledger.trade(key, action, args)
            if result is None:
                self._refused(f"{what}: {self.ledger.refusal}")
                return 0.0
            self.executed += 1
            self.trades.append((self.day, what, args[0], result))
            return result
        except BaseException as exc:
            # Whatever stops an action part-way (memory or the recursion limit running out, a broken invariant)
            # may have left it half done: it ends the run, as an invalid action does, whatever the player catches.
            if isinstance(exc, InvariantViolation):
                exc = InvariantViolation(f"{exc} ({what}{args!r} on day {self.day})")
            self.failure = exc
            raise exc from None
        finally:
            self.acting = False
            if collecting:
                gc.enable()

    def _refused(self, reason: str) -> None:
        """Counts a refused action, and by its reason while fewer than MAX_REFUSAL_KINDS reasons are known."""
        self.refused += 1
        known = self.refusals.get(reason)
        if known is not None:
            known[0] += 1
        elif len(self.refusals) < MAX_REFUSAL_KINDS:
            self.refusals[reason] = [1, self.day]

    def _fail(self, message: str) -> NoReturn:
        self.failure = InvalidAction(message)
        if self.witness is not None:  # told even when the run is over, or the caller (a finaliser) swallows it
            self.witness(self.failure)
        raise self.failure

    def outcome(self, result: Result) -> SlotOutcome:
        """After the last turn (the handles are dead from now on): audit the ledger, check the invariants, measure."""
        if self.failure is not None:
            raise self.failure
        self.ledger.close("the end of the run")
        wallet = MappingProxyType(dict(self.ledger.view))
        self._check_invariants(wallet, result.nvars)
        metrics = self._metrics(wallet, result.nvars)
        exact = {ticker: Fraction(balance, 1 << EXPONENT) for ticker, balance in self.ledger.balances.items()}
        log = SeatLog(self.key, self.trades, self.refusals, self.rows)
        return SlotOutcome(metrics, metrics[self.slot.comp], dict(wallet), self.scratch, result, exact, log)

    def _check_invariants(self, wallet: Mapping[str, float], nvars: Mapping[str, Any]) -> None:
        for name, check in self.slot.invariants.items():
            try:
                held = check(wallet, nvars)
            except Exception as exc:
                raise InvariantViolation(f"invariant {name!r} raised {type(exc).__name__}: {exc}") from exc
            if not held:
                raise InvariantViolation(f"invariant {name!r} broken at the end of the run (wallet: {dict(wallet)})")

    def _metrics(self, wallet: Mapping[str, float], nvars: Mapping[str, Any]) -> dict[str, float]:
        slot = self.slot
        metrics: dict[str, Any] = {ticker.lower(): balance for ticker, balance in wallet.items()}
        if slot.quote is not None:
            metrics["value"] = sum(self._worth(ticker, balance, slot.quote) for ticker, balance in wallet.items())
        metrics.update(actions=self.executed, refused=self.refused)
        for name, measure in slot.metrics.items():
            try:
                metrics[name] = measure(wallet, nvars)
            except Exception as exc:
                raise SimulationError(f"slot metric {name!r} failed: {type(exc).__name__}: {exc}") from exc
        bad = next((name for name, value in metrics.items() if not is_number(value)), None)
        if bad is not None:
            raise InvalidOutput(f"metric {bad!r} is {reprlib.repr(metrics[bad])}, not a finite number")
        return {name: float(value) for name, value in metrics.items()}

    def _worth(self, ticker: str, amount: float, quote: str) -> float:
        """What `amount` of `ticker` fetches in `quote`, sold to the first of the slot's markets that trades both."""
        if ticker == quote:
            return amount
        worths = (market.worth(ticker, amount, quote) for market in self.ledger.markets.values())
        return next(worth for worth in worths if worth is not None)  # `slot_for` checked that a market prices it


class Table:
    """The seats of one run, and the run's `before`: the scenario's, then every seat's opening. A bound method's
    function is the same every run, so `call_hook` reads its parameters once."""

    def __init__(self, scenario: Scenario, seats: Sequence[Seat]) -> None:
        self.scenario, self.seats = scenario, seats

    def open(self, v: Mapping[str, Any], p: Mapping[str, Any], years: float) -> Any:
        """The initial state: `before`'s with every seat's wallet under its key; each seat observes its day 0 in it."""
        initial = call_hook(self.scenario.before, v=v, p=p, years=years)
        if initial is None:
            initial = {}
        if not isinstance(initial, Mapping):
            return initial  # the engine reports it
        for seat in self.seats:
            seat.open(v, p, initial)
        initial = {**initial, **{seat.key: seat.record() for seat in self.seats}}
        for seat in self.seats:
            seat.first_row(initial, p)
        return initial


def _slotted(scenario: ScenarioRef) -> tuple[Scenario, Slot]:
    loaded = load_scenario(scenario)
    if loaded.slot is None:
        raise ScenarioError(
            f"scenario {loaded.name!r} has no slot for an evolved player; declare `slot` (a Slot or a dict) in it"
        )
    return loaded, loaded.slot


def _player(fn: Any) -> Callable[..., Any]:
    if not callable(fn):
        raise SimulationError(f"the player must be a function fn(i, v, r, s, p), got a {type(fn).__name__}")
    return fn


def _seats(
    scenario: Scenario, fns: Sequence[Callable[..., Any]], seed: int, witnesses: Sequence[Witness | None]
) -> list[Seat]:
    """A seat per fn, keyed in seat order; `witnesses[k]`, where given, is seat k's."""
    slot = scenario.slot
    assert slot is not None
    told = (*witnesses, *(None,) * len(fns))
    return [
        Seat(scenario, slot, fn, seed, told[n], key)
        for n, (fn, key) in enumerate(zip(fns, slot.seat_keys, strict=True))
    ]


def _seated_run(
    scenario: Scenario, seats: Sequence[Seat], order: Sequence[int], years: float | None, seed: int, bench: bool,
    stats: bool,
) -> Result:  # fmt: skip
    """One run with the seats taking their turns, in `order`, where the slot's position puts them."""
    slot = scenario.slot
    assert slot is not None
    players = list(scenario.players)
    at = len(players) if slot.position is None else slot.position
    players[at:at] = (Player(seats[k].key, seats[k].turn_or_bench if bench else seats[k], slot.goal) for k in order)
    seated = replace(scenario, players=tuple(players), before=Table(scenario, seats).open)
    return run(seated, scenario.variables, scenario.years if years is None else years, seed, stats)


def play(
    scenario: ScenarioRef, fn: Callable[..., Any], years: float | None = None, seed: int = 0,
    witness: Witness | None = None, stats: bool = True,
) -> SlotOutcome:  # fmt: skip
    """Run `scenario` once with `fn` in its slot; the outcome's score is the metric the slot's comp names.

    What the player raises (InvalidAction and InvalidOutput included) leaves as the engine's SimulationError
    naming the player and the day, with the original as `__cause__`; an invalid action called out of turn
    after the last one may leave as the InvalidAction itself. A broken invariant raises InvariantViolation
    naming it; a scenario without a slot, ScenarioError. `witness`, if given, is called with every invalid
    action of this run's handles, whenever it happens (after `play` has returned too). In an arena `fn` plays
    the first seat and the game's reference player (else `idle`) every other one; a failing rival stops the run too.
    With `stats=False` the outcome's `result` need not hold the daily rows (`simcore.engine.run`): the score is the
    same.
    """
    loaded, slot = _slotted(scenario)
    fns = (_player(fn), *(house_player(loaded),) * (slot.seats - 1))
    seats = _seats(loaded, fns, seed, (witness,))
    result = _seated_run(loaded, seats, range(slot.seats), years, seed, bench=False, stats=stats)
    return seats[0].outcome(result)


def play_match(
    scenario: ScenarioRef, fns: Sequence[Callable[..., Any]], seed: int = 0, years: float | None = None,
    order: Sequence[int] | None = None, witnesses: Sequence[Witness | None] | None = None,
) -> tuple[SlotOutcome | BaseException, ...]:  # fmt: skip
    """Run an arena once with `fns[k]` in seat k, taking turns in `order` (default: seat order); an outcome per seat.

    A seat's outcome is its SlotOutcome, or the error that benched it (a SimulationError naming the player and the
    day, with the player's own error as `__cause__`) or failed its end of the run (an invariant, a bad metric, an
    invalid action made out of turn). `witnesses[k]`, if given, is told of every invalid action of seat k's handles.
    What no seat did (a background player or a hook failing) raises, as in `play`.
    """
    loaded, slot = _slotted(scenario)
    count = slot.seats
    if len(fns) != count:
        raise SimulationError(f"scenario {loaded.name!r} has {count} seats; give a player fn for each, got {len(fns)}")
    turns = tuple(range(count)) if order is None else tuple(order)
    if not all(type(k) is int for k in turns) or sorted(turns) != list(range(count)):
        raise SimulationError(f"order must name each seat 0..{count - 1} once, got {order!r}")
    seats = _seats(loaded, [_player(fn) for fn in fns], seed, witnesses or ())
    result = _seated_run(loaded, seats, turns, years, seed, bench=True, stats=True)
    return tuple(_final(seat, result) for seat in seats)


def _final(seat: Seat, result: Result) -> SlotOutcome | BaseException:
    if seat.error is not None:
        return seat.error
    try:
        return seat.outcome(result)
    except Exception as exc:
        return exc
