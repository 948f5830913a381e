"""The evolvable slot: where an untrusted player fn plays a scenario, through its own wallet and allowed actions.

A scenario declares `slot` (a `Slot` or a dict of its fields). `play(scenario, fn)` runs the scenario with
`fn` seated among the background players and returns its metrics and score. The player is called
`fn(i, v, r, s, p)` once a day, and everything it is handed is its own or read-only, nested values included:

- `v`: the scenario's variables as they were before the run, today's observations (the slot's `observe`)
  and `v["wallet"]`, the wallet's balances by ticker;
- `r`: the player's own scratch dict, kept across days and returned in the outcome; nothing in it counts;
- `s`: rows `{"i": d, **observations}` for days 0..i; today's row is what the player sees now;
- `p`: a handle per plugin named in the slot's `actions`, offering only those actions (`p["dex"].buyA(10)`)
  and the plugin's state as `v`, plus `p["rng"]`, a `random.Random` of the player's own seeded from the run
  seed (reseeding it changes nothing for anyone else). `p.dex` works like `p["dex"]`.

An action's amount must be an int or a float (not a bool) in `(0, max_amount]`, and at most
`max_actions_per_day` actions are taken a day; otherwise it raises InvalidAction. A well-formed trade the
wallet cannot pay for, a sale of tokens it does not hold, or one the pool refuses is *refused*: nothing
changes, it returns 0.0 and counts in the `refused` metric. An executed action returns what the plugin
returns (AI3's signs: `buyA` the token B paid in, `sellA` minus the token B paid out).
"""

from __future__ import annotations

import random
import reprlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, ClassVar

from simcore.checks import is_count, is_number
from simcore.engine import Result, ScenarioRef, run
from simcore.errors import InvalidAction, InvalidOutput, InvariantViolation, PluginError, ScenarioError, SimulationError
from simcore.plugins.base import PluginSpec
from simcore.plugins.dex import Dex, DexSpec
from simcore.scenario import Player, Scenario, call_hook, load_scenario
from simcore.variables import Variable
from simcore.views import PLAIN_SCALARS, FrozenMap, FrozenRows, freeze

Observer = Callable[[Any, Any], Any]  # (r, p) -> value, with the host's state and plugin handles
Measure = Callable[[Mapping[str, float], Mapping[str, Any]], Any]  # (wallet, nvars) -> a number or a bool

DIRECTIONS = ("max", "min")
COUNTS = ("actions", "refused")
RESERVED_VIEWS = ("i", "wallet")
MAX_SCRATCH_KEYS = 1000  # checked daily, so a flood of keys stops at once (the sandbox checks the rest at the end)
CONSERVATION_TOLERANCE = 1e-9  # relative to the larger of the pool's holding and the amount moved


@dataclass(frozen=True)
class Slot:
    """Where an evolved player plays: its goal and comp, wallet, allowed actions, what it sees, and the rules.

    `wallet` maps tickers (upper-cased) to starting balances; `actions` plugin keys to action names;
    `observe` names to dotted paths (into a plugin's state `v` when the first part is a plugin key, into the
    state `r` otherwise) or to callables `(r, p)`; `metrics` and `invariants` names to callables
    `(wallet, nvars)`, metrics returning a number and invariants a truth value, read at the end of the run.
    Built-in metrics: each balance under its lower-case ticker, `value` (the wallet marked to market in
    `quote` at the final spot prices of the slot's markets, when a quote is named), `actions` (executed)
    and `refused`. `position` is the player's index among the players (default: last); `key` names it in
    errors and holds its balances and action counts in the state (`r[key]`, so in `res` and every stats row).
    """

    goal: str
    comp: str
    wallet: Mapping[str, float]
    actions: Mapping[str, Sequence[str]]
    direction: str = "max"
    observe: Mapping[str, str | Observer] = field(default_factory=dict)
    metrics: Mapping[str, Measure] = field(default_factory=dict)
    invariants: Mapping[str, Measure] = field(default_factory=dict)
    quote: str | None = None
    position: int | None = None
    max_actions_per_day: int = 10
    max_amount: float = 1e9
    key: str = "player"

    def __post_init__(self) -> None:
        for name, value in self._normalised().items():
            object.__setattr__(self, name, value)
        self._check_settings()
        self._check_metrics()

    def _normalised(self) -> dict[str, Any]:
        """The container fields as checked plain dicts, tickers upper-cased; a ScenarioError names a bad entry."""
        wallet = _wallet(self.wallet)
        quote = None if self.quote is None else str(self.quote).upper()
        _require(quote is None or quote in wallet, f"quote {self.quote!r} is not in the wallet ({_list(wallet)})")
        observe = _table(self.observe, "observe", _is_observer, "a dotted path or a function (r, p)")
        reserved = sorted(set(observe) & set(RESERVED_VIEWS))
        _require(not reserved, f"observe cannot name {reserved}: the player's views use these names")
        return {
            "wallet": wallet,
            "quote": quote,
            "actions": _actions(self.actions),
            "observe": observe,
            "metrics": _table(self.metrics, "metrics", callable, "a function (wallet, nvars)"),
            "invariants": _table(self.invariants, "invariants", callable, "a function (wallet, nvars)"),
        }

    def _check_settings(self) -> None:
        _require(isinstance(self.goal, str) and bool(self.goal.strip()), "goal must be a text for the models")
        _require(self.direction in DIRECTIONS, f"direction must be 'max' or 'min', got {self.direction!r}")
        position, cap, amount = self.position, self.max_actions_per_day, self.max_amount
        _require(position is None or is_count(position, 0), f"position must be an int >= 0, got {position!r}")
        _require(is_count(cap, 1), f"max_actions_per_day must be an int >= 1, got {cap!r}")
        _require(is_number(amount) and amount > 0, f"max_amount must be a number > 0, got {amount!r}")
        _require(isinstance(self.key, str) and self.key not in ("", "i", "rng"), f"key {self.key!r} is reserved")

    def _check_metrics(self) -> None:
        builtin = self.builtin_metrics
        _require(len(set(builtin)) == len(builtin), f"a ticker's metric clashes with a built-in one: {_list(builtin)}")
        clashes = sorted(set(self.metrics) & set(builtin))
        _require(not clashes, f"metrics {clashes} clash with built-in metrics; rename them")
        names = self.metric_names
        _require(self.comp in names, f"comp {self.comp!r} is not a metric (metrics: {_list(names)})")

    @property
    def builtin_metrics(self) -> tuple[str, ...]:
        """The metrics every run of this slot has: balances by lower-case ticker, `value` with a quote, counts."""
        return (*(ticker.lower() for ticker in self.wallet), *(("value",) if self.quote else ()), *COUNTS)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Every metric an outcome has, built-in ones first; `comp` is one of them."""
        return (*self.builtin_metrics, *self.metrics)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ScenarioError(f"slot: {message}")


def _list(names: Collection[str]) -> str:
    return ", ".join(names) or "none"


def _is_observer(spec: Any) -> bool:
    return callable(spec) or (isinstance(spec, str) and all(spec.split(".")))


def _table(spec: Any, what: str, ok: Callable[[Any], bool], expected: str) -> dict[str, Any]:
    """`spec` as a dict of non-empty names to values that pass `ok`; a ScenarioError naming the bad entry."""
    _require(isinstance(spec, Mapping), f"{what} must be a dict of names to {expected}, got {spec!r}")
    for name, value in spec.items():
        _require(isinstance(name, str) and bool(name), f"{what}: names must be non-empty strings, got {name!r}")
        _require(ok(value), f"{what} {name!r} must be {expected}, got {value!r}")
    return dict(spec)


def _is_balance(amount: Any) -> bool:
    return is_number(amount) and amount >= 0


def _is_action_list(names: Any) -> bool:
    return isinstance(names, (list, tuple)) and bool(names) and all(isinstance(n, str) and n for n in names)


def _wallet(spec: Any) -> dict[str, float]:
    balances = _table(spec, "wallet", _is_balance, "a starting balance (a number >= 0)")
    _require(bool(balances), "wallet must hold at least one ticker")
    wallet = {ticker.upper(): float(amount) for ticker, amount in balances.items()}
    _require(len(wallet) == len(balances), f"wallet names a ticker twice (tickers are upper-cased): {_list(balances)}")
    return wallet


def _actions(spec: Any) -> dict[str, tuple[str, ...]]:
    actions = _table(spec, "actions", _is_action_list, "a list of action names, e.g. ('buyA', 'sellA')")
    _require(bool(actions), "actions must name at least one plugin")
    return {key: tuple(names) for key, names in actions.items()}


class DexMarket:
    """The slot's trades on a dex. The pool holds its liquidity: `la` of token A, `lb` of token B.

    A market's whole mutable state is its plugin's `v`, so a refused trade is undone by restoring `v`.
    """

    spec_type: ClassVar[type[PluginSpec]] = DexSpec
    actions: ClassVar[tuple[str, ...]] = ("buyA", "sellA", "buyB", "sellB")

    def __init__(self, dex: Dex) -> None:
        self.plugin = dex

    @staticmethod
    def tickers_of(spec: DexSpec) -> tuple[str, ...]:
        """The tickers a declared pool trades, known before any run."""
        return spec.tickers()

    def holdings(self, state: Mapping[str, float]) -> dict[str, float]:
        """What the pool holds of each ticker, in `state` (its `v` now or as saved before a trade)."""
        dex = self.plugin
        return {dex.a: state["la"], dex.b: state["lb"]}

    def trade(self, action: str, amount: float) -> tuple[float, dict[str, float]]:
        """Run `action` on the pool: the plugin's result and the wallet's change by ticker.

        With AI3's signs `buyX` returns the other token paid in and `sellX` minus the other token paid out,
        so the wallet's other side changes by minus the result either way.
        """
        dex = self.plugin
        token, other = (dex.a, dex.b) if action.endswith("A") else (dex.b, dex.a)
        result = getattr(dex, action)(amount)
        return result, {token: amount if action.startswith("buy") else -amount, other: -result}

    def price(self, ticker: str, quote: str) -> float | None:
        """The pool's spot price of `ticker` in `quote`, or None if it does not trade that pair."""
        dex = self.plugin
        field_name = {(dex.a, dex.b): "pa", (dex.b, dex.a): "pb"}.get((ticker, quote))
        return None if field_name is None else dex.v[field_name]


MARKETS: tuple[type[DexMarket], ...] = (DexMarket,)


def _market_type(key: str, spec: PluginSpec) -> type[DexMarket]:
    market = next((m for m in MARKETS if isinstance(spec, m.spec_type)), None)
    kinds = _list([m.spec_type.kind for m in MARKETS])
    if market is None:
        raise ScenarioError(f"slot: actions name {key!r}, a {spec.kind} plugin; a slot trades only on {kinds} plugins")
    return market


def slot_for(
    spec: Any, plugins: Mapping[str, PluginSpec], variables: Mapping[str, Variable], players: int
) -> Slot | None:
    """A scenario module's `slot` (a Slot, a dict of its fields, or None) checked against the scenario's parts."""
    if spec is None:
        return None
    slot = spec if isinstance(spec, Slot) else _from_dict(spec)
    pairs = [set(_traded(slot, key, plugins)) for key in slot.actions]
    if slot.quote is not None:
        unpriced = [t for t in slot.wallet if t != slot.quote and not any({t, slot.quote} <= pair for pair in pairs)]
        _require(not unpriced, f"no market of the slot prices {unpriced} in {slot.quote}, so `value` cannot be marked")
    clashes = sorted(set(slot.observe) & set(variables))
    _require(not clashes, f"observe names {clashes} are also variables; the player's v holds both, so rename them")
    _require(slot.key not in plugins, f"key {slot.key!r} is also a plugin key; rename the slot's key")
    position = slot.position
    _require(position is None or position <= players, f"position {position} is past the {players} players")
    return slot


def _traded(slot: Slot, key: str, plugins: Mapping[str, PluginSpec]) -> tuple[str, ...]:
    """The tickers the plugin `key` trades, once it is checked to be a market offering the slot's actions."""
    _require(key in plugins, f"actions name {key!r}, which is not a plugin (plugins: {_list(plugins)})")
    spec = plugins[key]
    market = _market_type(key, spec)
    unknown = [name for name in slot.actions[key] if name not in market.actions]
    _require(not unknown, f"{key!r} has no actions {unknown}; a {spec.kind} offers {_list(market.actions)}")
    tickers = market.tickers_of(spec)
    missing = [ticker for ticker in tickers if ticker not in slot.wallet]
    _require(not missing, f"the wallet must hold every token {key!r} trades: add {_list(missing)} (0 if need be)")
    return tickers


def _from_dict(spec: Any) -> Slot:
    _require(isinstance(spec, Mapping), f"expected a Slot or a dict of its fields, got {spec!r}")
    names = [f.name for f in fields(Slot)]
    unknown = sorted(set(spec) - set(names))
    _require(not unknown, f"unknown fields {unknown} (fields: {_list(names)})")
    required = [f.name for f in fields(Slot) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in spec]
    _require(not missing, f"missing fields {missing}")
    return Slot(**spec)


@dataclass(frozen=True)
class SlotOutcome:
    """One played run: finite `metrics`, the `score` (the comp's metric), the final `wallet`, the player's
    `scratch` dict as it left it (not validated here), and the engine's `result` (the slot's balances and
    action counts are in `result.res[slot.key]` and each stats row)."""

    metrics: dict[str, float]
    score: float
    wallet: dict[str, float]
    scratch: dict[str, Any]
    result: Result


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
        raise AttributeError(f"{self._key} has no action {name!r}; the slot allows {_list(self._actions)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._key}'s handle is read-only")

    def __repr__(self) -> str:
        return f"<{self._key}: {_list(self._actions)}>"


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
        raise AttributeError(f"no handle {name!r} (handles: {_list(list(self))})")


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


class _Seat:
    """One evolved player seated in one run: its views, its wallet and counts (the ledger), its daily call."""

    def __init__(self, scenario: Scenario, slot: Slot, fn: Callable[..., Any], seed: int) -> None:
        self.scenario, self.slot, self.fn = scenario, slot, fn
        self.wallet = dict(slot.wallet)
        self.executed = self.refused = self.today = self.day = 0
        self.lowest = min(self.wallet.values())
        self.leaks: list[str] = []
        self.rows: list[Mapping[str, Any]] = []
        self.scratch: dict[str, Any] = {}
        self.rng = random.Random(f"{slot.key}:{seed}")
        self.readers = {name: _reader(spec, scenario.plugins) for name, spec in slot.observe.items()}
        self.wallet_view = MappingProxyType(self.wallet)
        self.history = FrozenRows(self.rows)
        # set by `open`, once the plugins exist
        self.variables: dict[str, Any] = {}
        self.markets: dict[str, DexMarket] = {}
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
        self.markets = {name: _market_type(name, self.scenario.plugins[name])(p[name]) for name in self.slot.actions}
        actions = {
            name: ActionHandle(name, self.slot.actions[name], self.act, MappingProxyType(market.plugin.v))
            for name, market in self.markets.items()
        }
        self.handles = PlayerHandles({**actions, "rng": self.rng})
        initial = {**initial, key: self.record()}
        self.rows.append(MappingProxyType({"i": 0, **self.observe({"i": 0, **initial}, p)}))
        self.today_data.update(self.variables, wallet=self.wallet_view)  # the day's observations join it daily
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
        return {**self.wallet, "actions": self.executed, "refused": self.refused}

    def __call__(self, i: int, v: Any, r: dict[str, Any], s: Any, p: Any) -> None:
        seen = self.observe(r, p)
        self.rows.append(MappingProxyType({"i": i, **seen}))
        self.today_data.update(seen)
        self.day, self.today = i, 0
        try:
            out = self.fn(i, self.view, self.scratch, self.history, self.handles)
        except BaseException as exc:
            if isinstance(exc, (Exception, KeyboardInterrupt)):
                raise
            # SystemExit and the like: the engine stops only Exceptions, so these would escape the run
            raise SimulationError(f"the player raised {type(exc).__name__}; a player fn must return") from exc
        if out is not None and not (type(out) in (int, float) and is_number(out)):
            raise InvalidOutput(f"the player returned {reprlib.repr(out)}; return None or a finite int or float")
        if len(self.scratch) > MAX_SCRATCH_KEYS:
            raise InvalidOutput(f"the player's r holds {len(self.scratch)} keys; the limit is {MAX_SCRATCH_KEYS}")
        r[self.slot.key] = self.record()

    def act(self, key: str, action: str, amount: Any) -> float:
        """One action of the player: checked, then executed or refused against the wallet."""
        slot = self.slot
        if self.today >= slot.max_actions_per_day:
            raise InvalidAction(f"{key}.{action}: at most {slot.max_actions_per_day} actions a day")
        if type(amount) not in (int, float) or not 0 < amount <= slot.max_amount:
            shown = reprlib.repr(amount)
            raise InvalidAction(
                f"{key}.{action}({shown}): the amount must be an int or float in (0, {slot.max_amount:g}]"
            )
        self.today += 1
        return self._trade(key, action, amount)

    def _trade(self, key: str, action: str, amount: float) -> float:
        """Execute on the pool, then settle with the wallet; if either refuses, the pool is restored exactly."""
        market = self.markets[key]
        state = market.plugin.v
        saved = state.copy()
        try:
            result, change = market.trade(action, amount)
        except PluginError:  # the pool refuses, e.g. a buy that would drain it
            change = {}
        wallet = self.wallet
        balances = {ticker: wallet[ticker] + moved for ticker, moved in change.items()}
        if not balances or min(balances.values()) < 0:
            state.clear()
            state.update(saved)
            self.refused += 1
            return 0.0
        wallet.update(balances)
        self.executed += 1
        self.lowest = min(self.lowest, *balances.values())
        self._audit(market, saved, change, (key, action, amount))
        return result

    def _audit(
        self, market: DexMarket, saved: Mapping[str, float], change: Mapping[str, float], trade: tuple[str, str, float]
    ) -> None:
        """Record a conservation leak: what the wallet gained of a ticker must have left the pool, and back."""
        before, after = market.holdings(saved), market.holdings(market.plugin.v)
        for ticker, moved in change.items():
            pool = after[ticker] - before[ticker]
            if abs(moved + pool) > CONSERVATION_TOLERANCE * max(1.0, abs(before[ticker]), abs(moved)):
                key, action, amount = trade
                self.leaks.append(
                    f"{key}.{action}({amount!r}) on day {self.day}: the wallet's {ticker} changed by {moved!r}, "
                    f"the pool's by {pool!r}"
                )

    def outcome(self, result: Result) -> SlotOutcome:
        """Check the invariants, then measure the run."""
        wallet = MappingProxyType(dict(self.wallet))
        self._check_invariants(wallet, result.nvars)
        metrics = self._metrics(wallet, result.nvars)
        return SlotOutcome(metrics, metrics[self.slot.comp], dict(self.wallet), self.scratch, result)

    def _check_invariants(self, wallet: Mapping[str, float], nvars: Mapping[str, Any]) -> None:
        if self.lowest < 0:
            raise InvariantViolation(f"invariant 'non-negative' broken: a balance reached {self.lowest!r}")
        if self.leaks:
            more = f" (and {len(self.leaks) - 1} more)" if len(self.leaks) > 1 else ""
            raise InvariantViolation(f"invariant 'conservation' broken: {self.leaks[0]}{more}")
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
        prices = (market.price(ticker, quote) for market in self.markets.values())
        return next(price for price in prices if price is not None)  # `slot_for` checked that a market prices it


def play(scenario: ScenarioRef, fn: Callable[..., Any], years: float | None = None, seed: int = 0) -> SlotOutcome:
    """Run `scenario` once with `fn` in its slot; the outcome's score is the metric the slot's comp names.

    What the player raises (InvalidAction and InvalidOutput included) leaves as the engine's SimulationError
    naming the player and the day, with the original as `__cause__`. A broken invariant raises
    InvariantViolation naming it; a scenario without a slot, ScenarioError.
    """
    loaded = load_scenario(scenario)
    slot = loaded.slot
    if slot is None:
        raise ScenarioError(
            f"scenario {loaded.name!r} has no slot for an evolved player; declare `slot` (a Slot or a dict) in it"
        )
    if not callable(fn):
        raise SimulationError(f"the player must be a function fn(i, v, r, s, p), got a {type(fn).__name__}")
    seat = _Seat(loaded, slot, fn, seed)
    players = list(loaded.players)
    players.insert(len(players) if slot.position is None else slot.position, Player(slot.key, seat, slot.goal))
    seated = replace(loaded, players=tuple(players), before=seat.open)
    result = run(seated, loaded.variables, loaded.years if years is None else years, seed)
    return seat.outcome(result)
