"""The seat: one untrusted player fn playing one run of a scenario's slot, through its own wallet and actions.

`play(scenario, fn)` runs the scenario with `fn` seated among the background players and returns its metrics
and score. The player is called `fn(i, v, r, s, p)` once a day, and everything it is handed is its own or
read-only, nested values included:

- `v`: the scenario's variables as they were before the run, today's observations (the slot's `observe`)
  and `v["wallet"]`, the wallet's balances by ticker;
- `r`: the player's own scratch dict, kept across days and returned in the outcome; nothing in it counts;
- `s`: rows `{"i": d, **observations}` for days 0..i; today's row is what the player sees now;
- `p`: a handle per plugin named in the slot's `actions`, offering only those actions (`p["dex"].buyA(10)`)
  and the plugin's state as `v`, plus `p["rng"]`, a `random.Random` of the player's own seeded from the run
  seed (reseeding it changes nothing for anyone else). `p.dex` works like `p["dex"]`.

Actions are atomic and taken in turn. An action runs only while the player's own `fn` is being called for
the current day of this run, never while another action runs, with the garbage collector held off, so no
player code (a finaliser included) can see or act on a half-done trade. Its amount must be an int or a float
(not a bool) in `(0, max_amount]`, and at most `max_actions_per_day` are taken a day. Anything else is an
invalid action, and an invalid action ends the run: the player may catch the exception, but the run stops as
soon as its `fn` returns, and every later action raises it again.

A well-formed trade that the wallet cannot pay for, that the pool refuses, or that is too small to move the
pool both ways is *refused*: nothing changes, it returns 0.0 and counts in the `refused` metric. An executed
trade is settled exactly by the ledger (`simcore.ledger`) and returns what the plugin would (AI3's signs:
`buyA` the token B paid in, `sellA` minus the token B paid out).
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
from simcore.errors import InvalidAction, InvalidOutput, InvariantViolation, ScenarioError, SimulationError
from simcore.exact import EXPONENT
from simcore.ledger import Ledger
from simcore.markets import market_type
from simcore.scenario import Player, Scenario, call_hook, load_scenario
from simcore.slot import Observer, Slot
from simcore.views import PLAIN_SCALARS, FrozenMap, FrozenRows, freeze

_NO_SEED = object()
MAX_SCRATCH_KEYS = 1000  # checked daily, so a flood of keys stops at once (the sandbox checks the rest at the end)
Witness = Callable[[InvalidAction], None]  # told of every invalid action of a run's handles


@dataclass(frozen=True)
class SlotOutcome:
    """One played run: finite `metrics`, the `score` (the comp's metric), the final `wallet` (each balance
    rounded down to a float) and `exact_wallet` (exactly), the player's `scratch` dict as it left it (not
    validated here), and the engine's `result` (the slot's balances and action counts are in
    `result.res[slot.key]` and each stats row)."""

    metrics: dict[str, float]
    score: float
    wallet: dict[str, float]
    scratch: dict[str, Any]
    result: Result
    exact_wallet: dict[str, Fraction]


class PlayerRandom(random.Random):
    """The player's `p["rng"]`: a `random.Random` seeded from the run's seed, whose reseeding needs a value.

    `seed()` with no value, or None, would read the operating system's entropy, and a player could then score
    differently each time it is evaluated: refused. Any other seed `random.Random` takes (an int, float, str,
    bytes or bytearray) works as usual.
    """

    def seed(self, a: Any = _NO_SEED, version: int = 2) -> None:  # type: ignore[override]
        if a is _NO_SEED or a is None:
            raise ValueError("rng.seed() needs a value (an int, float or str): the system's would change every run")
        super().seed(a, version)


class ActionHandle:
    """`p[KEY]` as the player sees it: the slot's allowed actions on one plugin, and the plugin's state as `v`."""

    __slots__ = ("_actions", "_key", "_state")

    def __init__(
        self, key: str, names: Sequence[str], act: Callable[[str, str, Any], float], state: Mapping[str, Any]
    ) -> None:
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_actions", {name: _action(key, name, act) for name in names})
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


def _action(key: str, name: str, act: Callable[[str, str, Any], float]) -> Callable[[Any], float]:
    def action(amount: Any) -> float:
        return act(key, name, amount)

    action.__name__ = action.__qualname__ = name
    action.__doc__ = f"{key}.{name}(amount): executed, the plugin's result; refused, 0.0."
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


class Seat:
    """One evolved player seated in one run: its views, its ledger and counts, its daily turn and its actions."""

    def __init__(
        self, scenario: Scenario, slot: Slot, fn: Callable[..., Any], seed: int, witness: Witness | None = None
    ) -> None:
        self.scenario, self.slot, self.fn, self.witness = scenario, slot, fn, witness
        self.executed = self.refused = self.today = self.day = 0
        self.in_turn = self.acting = False
        self.failure: BaseException | None = None  # an invalid action or a failed trade: it ends the run, caught or not
        self.rows: list[Mapping[str, Any]] = []
        self.scratch: dict[str, Any] = {}
        self.rng = PlayerRandom(f"{slot.key}:{seed}")
        self.readers = {name: _reader(spec, scenario.plugins) for name, spec in slot.observe.items()}
        self.history = FrozenRows(self.rows)
        # set by `open`, once the plugins exist
        self.variables: dict[str, Any] = {}
        self.ledger = Ledger(slot.wallet, {})
        self.handles = PlayerHandles({})
        self.today_data: dict[str, Any] = {}
        self.view = MappingProxyType(self.today_data)  # the player's v: one read-only window, updated daily

    def open(self, v: Mapping[str, Any], p: Mapping[str, Any], years: float) -> Any:
        """The scenario's `before`, then the seat's opening: views, markets, the wallet in `r`, day 0's row."""
        initial = call_hook(self.scenario.before, v=v, p=p, years=years)
        if initial is None:
            initial = {}
        if not isinstance(initial, Mapping):
            return initial  # the engine reports it
        key = self.slot.key
        if key in initial:
            raise SimulationError(f"the state from before has the key {key!r}, which holds the slot; rename one")
        self.variables = {name: freeze(value, f"variable {name!r}") for name, value in v.items()}
        markets = {name: market_type(name, self.scenario.plugins[name])(p[name]) for name in self.slot.actions}
        self.ledger = Ledger(self.slot.wallet, markets)
        actions = {
            name: ActionHandle(name, self.slot.actions[name], self.act, MappingProxyType(market.plugin.v))
            for name, market in markets.items()
        }
        self.handles = PlayerHandles({**actions, "rng": self.rng})
        initial = {**initial, key: self.record()}
        self.rows.append(MappingProxyType({"i": 0, **self.observe({"i": 0, **initial}, p)}))
        self.today_data.update(self.variables, wallet=MappingProxyType(self.ledger.view))
        return initial

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
        r[self.slot.key] = self.record()

    def act(self, key: str, action: str, amount: Any) -> float:
        """One action of the player: checked, then executed or refused against the wallet, all at once."""
        if self.failure is not None:
            raise self.failure
        what = f"{key}.{action}"
        if self.acting:
            self._fail(f"{what} was called while another action was running (from a finaliser?); actions never nest")
        if not self.in_turn:
            self._fail(f"{what} was called outside the player's turn; actions run only while fn is called for a day")
        slot = self.slot
        if self.today >= slot.max_actions_per_day:
            self._fail(f"{what}: at most {slot.max_actions_per_day} actions a day")
        if type(amount) not in (int, float) or not 0 < amount <= slot.max_amount:
            self._fail(
                f"{what}({reprlib.repr(amount)}): the amount must be an int or float in (0, {slot.max_amount:g}]"
            )
        self.today += 1
        self.acting = True
        collecting = gc.isenabled()
        gc.disable()  # no finaliser may run inside a trade
        try:
            result = self.ledger.trade(key, action, amount)
            if result is None:
                self.refused += 1
                return 0.0
            self.executed += 1
            return result
        except BaseException as exc:
            # Whatever stops an action part-way (memory or the recursion limit running out, a broken invariant)
            # may have left it half done: it ends the run, as an invalid action does, whatever the player catches.
            if isinstance(exc, InvariantViolation):
                exc = InvariantViolation(f"{exc} ({what}({amount!r}) on day {self.day})")
            self.failure = exc
            raise exc from None
        finally:
            self.acting = False
            if collecting:
                gc.enable()

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
        return SlotOutcome(metrics, metrics[self.slot.comp], dict(wallet), self.scratch, result, exact)

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
            metrics["value"] = sum(balance * self._price(ticker, slot.quote) for ticker, balance in wallet.items())
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

    def _price(self, ticker: str, quote: str) -> float:
        if ticker == quote:
            return 1.0
        prices = (market.price(ticker, quote) for market in self.ledger.markets.values())
        return next(price for price in prices if price is not None)  # `slot_for` checked that a market prices it


def play(
    scenario: ScenarioRef, fn: Callable[..., Any], years: float | None = None, seed: int = 0,
    witness: Witness | None = None,
) -> SlotOutcome:  # fmt: skip
    """Run `scenario` once with `fn` in its slot; the outcome's score is the metric the slot's comp names.

    What the player raises (InvalidAction and InvalidOutput included) leaves as the engine's SimulationError
    naming the player and the day, with the original as `__cause__`; an invalid action called out of turn
    after the last one may leave as the InvalidAction itself. A broken invariant raises InvariantViolation
    naming it; a scenario without a slot, ScenarioError. `witness`, if given, is called with every invalid
    action of this run's handles, whenever it happens (after `play` has returned too).
    """
    loaded = load_scenario(scenario)
    slot = loaded.slot
    if slot is None:
        raise ScenarioError(
            f"scenario {loaded.name!r} has no slot for an evolved player; declare `slot` (a Slot or a dict) in it"
        )
    if not callable(fn):
        raise SimulationError(f"the player must be a function fn(i, v, r, s, p), got a {type(fn).__name__}")
    seat = Seat(loaded, slot, fn, seed, witness)
    players = list(loaded.players)
    players.insert(len(players) if slot.position is None else slot.position, Player(slot.key, seat, slot.goal))
    seated = replace(loaded, players=tuple(players), before=seat.open)
    result = run(seated, loaded.variables, loaded.years if years is None else years, seed)
    return seat.outcome(result)
