"""The evolvable slot as a scenario declares it: where an untrusted player fn plays, and by which rules.

A scenario declares `slot` (a `Slot` or a dict of its fields), checked against the scenario's parts when it
loads (`slot_for`): the goal and comp, the wallet, the actions allowed on each market, what the player observes,
extra metrics and invariants. `simcore.seat.play` runs a player in it; `simcore.seat.play_match` runs several
players in an arena (`seats` > 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from simcore.checks import is_count, is_number, listed
from simcore.errors import ScenarioError
from simcore.markets import market_type
from simcore.plugins.base import PluginSpec
from simcore.variables import Variable, readers_of

Observer = Callable[[Any, Any], Any]  # (r, p) -> value, with the host's state and plugin handles
Measure = Callable[[Mapping[str, float], Mapping[str, Any]], Any]  # (wallet, nvars) -> a number or a bool

DIRECTIONS = ("max", "min")
COUNTS = ("actions", "refused")
RESERVED_VIEWS = ("i", "wallet")
MAX_SEATS = 4


@dataclass(frozen=True)
class Slot:
    """Where an evolved player plays: its goal and comp, wallet, allowed actions, what it sees, and the rules.

    `wallet` maps tickers (upper-cased) to starting balances; `actions` plugin keys to action names;
    `observe` names to dotted paths (into a plugin's state `v` when the first part is a plugin key, into the
    state `r` otherwise) or to callables `(r, p)`; `metrics` and `invariants` names to callables
    `(wallet, nvars)`, metrics returning a number and invariants a truth value, read at the end of the run.
    Built-in metrics: each balance under its lower-case ticker, `value` (the wallet in `quote`, each other
    balance counted at what selling it to a market of the slot would fetch at the end, price impact included, when
    a quote is named), `actions` (executed) and `refused`. `position` is the player's index among the players
    (default: last); `key` names it in errors and holds its balances and action counts in the state (`r[key]`, so
    in `res` and every stats row).
    `hidden` names variables the player may not see: they are left out of its `v` and of every text shown to a
    model, and no variable it sees may be computed from them (a hidden market must be inferred from play).
    `seats` (1 to 4) makes the slot an arena: that many evolved players trade in the same run, each with its own
    wallet, views and counts, seated together at `position` and keyed `seat_keys` (`key` itself for one seat;
    `player1`, `player2`, ... for several).
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
    hidden: Sequence[str] = ()
    seats: int = 1

    def __post_init__(self) -> None:
        for name, value in self._normalised().items():
            object.__setattr__(self, name, value)
        self._check_settings()
        self._check_metrics()

    def _normalised(self) -> dict[str, Any]:
        """The container fields as checked plain dicts, tickers upper-cased; a ScenarioError names a bad entry."""
        wallet = _wallet(self.wallet)
        quote = None if self.quote is None else str(self.quote).upper()
        _require(quote is None or quote in wallet, f"quote {self.quote!r} is not in the wallet ({listed(wallet)})")
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
            "hidden": _names(self.hidden, "hidden"),
        }

    def _check_settings(self) -> None:
        _require(isinstance(self.goal, str) and bool(self.goal.strip()), "goal must be a text for the models")
        _require(self.direction in DIRECTIONS, f"direction must be 'max' or 'min', got {self.direction!r}")
        position, cap, amount = self.position, self.max_actions_per_day, self.max_amount
        _require(position is None or is_count(position, 0), f"position must be an int >= 0, got {position!r}")
        _require(is_count(cap, 1), f"max_actions_per_day must be an int >= 1, got {cap!r}")
        _require(is_number(amount) and amount > 0, f"max_amount must be a number > 0, got {amount!r}")
        _require(isinstance(self.key, str) and self.key not in ("", "i", "rng"), f"key {self.key!r} is reserved")
        seats = self.seats
        _require(
            is_count(seats, 1) and seats <= MAX_SEATS, f"seats must be an int from 1 to {MAX_SEATS}, got {seats!r}"
        )

    def _check_metrics(self) -> None:
        builtin = self.builtin_metrics
        _require(len(set(builtin)) == len(builtin), f"a ticker's metric clashes with a built-in one: {listed(builtin)}")
        clashes = sorted(set(self.metrics) & set(builtin))
        _require(not clashes, f"metrics {clashes} clash with built-in metrics; rename them")
        names = self.metric_names
        _require(self.comp in names, f"comp {self.comp!r} is not a metric (metrics: {listed(names)})")

    @property
    def builtin_metrics(self) -> tuple[str, ...]:
        """The metrics every run of this slot has: balances by lower-case ticker, `value` with a quote, counts."""
        return (*(ticker.lower() for ticker in self.wallet), *(("value",) if self.quote else ()), *COUNTS)

    @property
    def seat_keys(self) -> tuple[str, ...]:
        """The seats' keys, in seat order: `key` for a single seat, else `key` followed by 1, 2, ... `seats`."""
        return (self.key,) if self.seats == 1 else tuple(f"{self.key}{n}" for n in range(1, self.seats + 1))

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Every metric an outcome has, built-in ones first; `comp` is one of them."""
        return (*self.builtin_metrics, *self.metrics)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ScenarioError(f"slot: {message}")


def _is_observer(spec: Any) -> bool:
    return callable(spec) or (isinstance(spec, str) and all(spec.split(".")))


def _table(spec: Any, what: str, ok: Callable[[Any], bool], expected: str) -> dict[str, Any]:
    """`spec` as a dict of non-empty names to values that pass `ok`; a ScenarioError naming the bad entry."""
    _require(isinstance(spec, Mapping), f"{what} must be a dict of names to {expected}, got {spec!r}")
    for name, value in spec.items():
        _require(isinstance(name, str) and bool(name), f"{what}: names must be non-empty strings, got {name!r}")
        _require(ok(value), f"{what} {name!r} must be {expected}, got {value!r}")
    return dict(spec)


def _names(spec: Any, what: str) -> tuple[str, ...]:
    ok = isinstance(spec, (list, tuple)) and all(isinstance(name, str) and name for name in spec)
    _require(ok, f"{what} must be a list of variable names, got {spec!r}")
    return tuple(dict.fromkeys(spec))


def _is_balance(amount: Any) -> bool:
    return is_number(amount) and amount >= 0


def _is_action_list(names: Any) -> bool:
    return isinstance(names, (list, tuple)) and bool(names) and all(isinstance(n, str) and n for n in names)


def _wallet(spec: Any) -> dict[str, float]:
    balances = _table(spec, "wallet", _is_balance, "a starting balance (a number >= 0)")
    _require(bool(balances), "wallet must hold at least one ticker")
    wallet = {ticker.upper(): float(amount) for ticker, amount in balances.items()}
    _require(len(wallet) == len(balances), f"wallet names a ticker twice (tickers are upper-cased): {listed(balances)}")
    return wallet


def _actions(spec: Any) -> dict[str, tuple[str, ...]]:
    actions = _table(spec, "actions", _is_action_list, "a list of action names, e.g. ('buyA', 'sellA')")
    _require(bool(actions), "actions must name at least one plugin")
    return {key: tuple(names) for key, names in actions.items()}


def slot_for(
    spec: Any, plugins: Mapping[str, PluginSpec], variables: Mapping[str, Variable], players: int
) -> Slot | None:
    """A scenario module's `slot` (a Slot, a dict of its fields, or None) checked against the scenario's parts."""
    if spec is None:
        return None
    slot = spec if isinstance(spec, Slot) else _from_dict(spec)
    traded = [set(_traded(slot, key, plugins)) for key in slot.actions]  # each market's tickers (two or more)
    if slot.quote is not None:  # a ticker is priced by a market that trades both it and the quote
        unpriced = [t for t in slot.wallet if t != slot.quote and not any({t, slot.quote} <= m for m in traded)]
        _require(not unpriced, f"no market of the slot prices {unpriced} in {slot.quote}, so `value` cannot be marked")
    _check_hidden(slot, variables)
    clashes = sorted(set(slot.observe) & set(variables))
    _require(not clashes, f"observe names {clashes} are also variables; the player's v holds both, so rename them")
    clash = next((key for key in slot.seat_keys if key in plugins), None)
    _require(clash is None, f"key {clash!r} is also a plugin key; rename the slot's key")
    position = slot.position
    _require(position is None or position <= players, f"position {position} is past the {players} players")
    return slot


def _check_hidden(slot: Slot, variables: Mapping[str, Variable]) -> None:
    """Every hidden name is a variable, and no variable the player sees is computed from a hidden one."""
    unknown = [name for name in slot.hidden if name not in variables]
    _require(not unknown, f"hidden names {unknown}, which are not variables (variables: {listed(variables)})")
    leaks = sorted(readers_of(variables, slot.hidden))
    _require(not leaks, f"variables {leaks} are computed from hidden ones and would show them: hide them too")


def _traded(slot: Slot, key: str, plugins: Mapping[str, PluginSpec]) -> tuple[str, ...]:
    """The tickers the plugin `key` trades, once it is checked to be a market offering the slot's actions."""
    _require(key in plugins, f"actions name {key!r}, which is not a plugin (plugins: {listed(plugins)})")
    spec = plugins[key]
    market = market_type(key, spec)
    unknown = [name for name in slot.actions[key] if name not in market.actions]
    _require(not unknown, f"{key!r} has no actions {unknown}; a {spec.kind} offers {listed(market.actions)}")
    tickers = market.tickers_of(spec, plugins)
    _require(len(set(tickers)) == len(tickers) >= 2, f"{key!r} must trade two or more different tickers, not {tickers}")
    missing = [ticker for ticker in tickers if ticker not in slot.wallet]
    _require(not missing, f"the wallet must hold every token {key!r} trades: add {listed(missing)} (0 if need be)")
    return tickers


def _from_dict(spec: Any) -> Slot:
    _require(isinstance(spec, Mapping), f"expected a Slot or a dict of its fields, got {spec!r}")
    names = [f.name for f in fields(Slot)]
    unknown = sorted(set(spec) - set(names))
    _require(not unknown, f"unknown fields {unknown} (fields: {listed(names)})")
    required = [f.name for f in fields(Slot) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in spec]
    _require(not missing, f"missing fields {missing}")
    return Slot(**spec)
