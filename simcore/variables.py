"""Scenario variables: AI3's `{"name": ..., "val": number | fn}` and their resolution.

A variable's `val` is a constant or a function of a getter `g` (and, when it reads the simulation,
the result state `r` as a second argument). A *random* variable has instead a `draw`, a function of the run's
random generator: each run draws it once from its seed, before anything else (`realise`), so a seed is a market.
Resolution is memoised within one computation, detects cycles, names the variable that failed, and never changes
the definitions it was given. A formula is a function of `g` and `r` alone: one that read `r` before asking `g` for
anything is unknown before every run, so it is noted (`Variable.unknown_before`) and not called before a run again.
"""

from __future__ import annotations

import difflib
import dis
import functools
import inspect
import random
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import FunctionType
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import VariableError

Value = Any
Getter = Callable[[str], Value]
Draw = Callable[[random.Random], Value]


@dataclass(frozen=True)
class Bounds:
    """The interval a variable's values must lie in (a component parameter's), closed unless an end is open."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: Any) -> bool:
        if not is_number(value):
            return False
        above = self.low < value if self.low_open else self.low <= value
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class Variable:
    """One variable: its display name, its value or formula (or its `draw`, if random), AI3's display hints, and the
    bounds of its values when it is a component's parameter (fuzz and Monte Carlo vary it within them)."""

    name: str
    val: Value
    desc: str = ""
    display: Mapping[str, Any] = field(default_factory=dict)
    reads_state: bool = False
    draw: Draw | None = None
    bounds: Bounds | None = None
    unknown_before: ClassVar[bool] = False  # set on a formula that read `r` first: not called again before a run

    def __post_init__(self) -> None:
        if self.draw is not None and not callable(self.draw):
            raise VariableError(f"variable {self.name!r}: draw must be a function of the run's random generator")
        if callable(self.val):
            object.__setattr__(self, "reads_state", _takes_state(self.val))

    @functools.cached_property
    def state_key(self) -> str | None:
        """KEY when the formula is exactly `lambda g, r: r[KEY]` (AI3's usual output), so `compute` reads it without
        a call; else None."""
        val = self.val
        if not self.reads_state or type(val) is not FunctionType or val.__closure__ or val.__code__.co_argcount != 2:
            return None
        steps = list(dis.get_instructions(val))
        if tuple(step.opname for step in steps) != STATE_KEY_STEPS or steps[1].arg != 1:  # the second parameter
            return None
        key = steps[2].argval
        return key if type(key) is str else None

    def fixed(self, value: Value) -> Variable:
        """This variable set to `value` (a constant, or a function of `g`, read like any `val`)."""
        if callable(value):
            return Variable(self.name, value, self.desc, self.display, False, None, self.bounds)
        fixed = object.__new__(Variable)  # a constant needs no checks: copy the fields (a fuzz makes one per case)
        fixed.__dict__.update(name=self.name, val=value, desc=self.desc, display=self.display, reads_state=False,
                              draw=None, bounds=self.bounds)  # fmt: skip
        return fixed


STATE_KEY_STEPS = ("RESUME", "LOAD_FAST", "LOAD_CONST", "BINARY_SUBSCR", "RETURN_VALUE")
"""The bytecode of `lambda g, r: r[KEY]` (CPython 3.11)."""


def var(val: Value = None, name: str = "", desc: str = "", draw: Draw | None = None, **display: Any) -> Variable:
    """The typed way to declare a variable: `var(100, "Initial AI liquidity", type="AI")`, or a random one,
    drawn from each run's seed: `var(name="Buy threshold", draw=lambda rng: rng.uniform(0.8, 1))`."""
    return Variable(name=name, val=val, desc=desc, display=display, draw=draw)


def as_variable(key: str, spec: Any) -> Variable:
    """Normalise an AI3 dict, a `Variable`, or a bare number/function into a `Variable`."""
    if isinstance(spec, Variable):
        return spec
    if isinstance(spec, Mapping):
        if "val" not in spec and "draw" not in spec:
            raise VariableError(
                f"variable {key!r} has no 'val' (expected {{'name': ..., 'val': ...}}, or for a random variable a "
                "'draw': a function of the run's random generator)"
            )
        if "val" in spec and "draw" in spec:
            raise VariableError(f"variable {key!r} has both a 'val' and a 'draw'; a random variable has only a draw")
        extra = {k: x for k, x in spec.items() if k not in ("name", "val", "desc", "draw")}
        return Variable(str(spec.get("name", key)), spec.get("val"), str(spec.get("desc", "")), extra,
                        draw=spec.get("draw"))  # fmt: skip
    return Variable(key, spec)


def realise(
    variables: Mapping[str, Variable], rng: random.Random, fixed: Collection[str] = ()
) -> Mapping[str, Variable]:
    """The definitions with every random variable fixed to a value drawn from `rng`, in declaration order (the
    same mapping when there are none, so a scenario without random variables leaves `rng` untouched). Those in `fixed`
    are not drawn: they are set (`constant_overrides`)."""
    drawn = {key: x for key, x in variables.items() if x.draw is not None and key not in fixed}
    if not drawn:
        return variables
    realised = dict(variables)
    for key, variable in drawn.items():
        assert variable.draw is not None
        try:
            value = variable.draw(rng)
        except Exception as exc:
            raise VariableError(f"variable {key!r} failed to draw: {type(exc).__name__}: {exc}") from exc
        realised[key] = replace(variable, val=value, draw=None, reads_state=False)
    return realised


def readers_of(variables: Mapping[str, Variable], keys: Collection[str]) -> set[str]:
    """The variables (outside `keys`) whose value before the run is computed from any of `keys`, directly or
    through others (random variables are read as drawn from seed 0)."""
    resolver = _Resolver(realise(variables, random.Random(0)), None, track=True)
    for key in variables:
        resolver.value(key)
    reads = resolver.reads
    assert reads is not None
    tainted = set(keys)
    grew = True
    while grew:
        before = len(tainted)
        tainted |= {key for key, read in reads.items() if read & tainted}
        grew = len(tainted) > before
    return tainted - set(keys)


def _takes_state(fn: Callable[..., Any]) -> bool:
    """True when `fn` accepts a second positional argument (the result state `r`)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    kinds = [p.kind for p in params]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(k in positional for k in kinds) >= 2


def with_overrides(variables: Mapping[str, Variable], overrides: Mapping[str, Value] | None) -> dict[str, Variable]:
    """A new definition dict with some variables fixed to constants (or set to new formulas of `g`); the input is left
    untouched."""
    result = dict(variables)
    for key, value in (overrides or {}).items():
        result[key] = _settable(key, result).fixed(value)
    return result


def constant_overrides(variables: Mapping[str, Variable], overrides: Mapping[str, Value]) -> bool:
    """Whether `overrides` sets only constants, so a run can take them as values (`compute`'s `known`) with the same
    result as `with_overrides`' definitions; checked as `with_overrides` checks them."""
    constant = True
    for key, value in overrides.items():
        variable = variables.get(key)
        if variable is None or variable.reads_state:
            _settable(key, variables)  # raises, saying why
        constant = constant and not callable(value)
    return constant


def _settable(key: str, variables: Mapping[str, Variable]) -> Variable:
    require_known(key, variables)
    variable = variables[key]
    if variable.reads_state:
        raise VariableError(
            f"{key!r} is computed from the run's results (an output), so it cannot be set: set the inputs it is "
            "computed from"
        )
    return variable


def require_known(key: str, variables: Mapping[str, Any]) -> None:
    """Raise a VariableError naming `key` (and close matches) if it is not a variable."""
    if key not in variables:
        raise VariableError(f"unknown variable {key!r}{_did_you_mean(key, variables)}")


def _did_you_mean(key: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(known), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else f" (known: {', '.join(known)})"


class _StateUnavailable(BaseException):
    """Raised when a variable reads the result state before the run (its value is then None)."""


class _NoState(Mapping[str, Any]):
    """The `r` a variable sees before the run: any read makes the variable unknown (None), as in AI3."""

    def __getitem__(self, key: str) -> Any:
        raise _StateUnavailable

    def __iter__(self) -> Iterator[str]:
        raise _StateUnavailable

    def __len__(self) -> int:
        raise _StateUnavailable

    def __getattr__(self, name: str) -> Any:
        raise _StateUnavailable


_UNKNOWN = object()  # what a variable is when it needs the result state
_MISSING = object()
_NO_STATE = _NoState()


class _NotKnown(BaseException):
    """Raised when a formula's quick getter (`_Known`) is asked for a variable not known yet (its key is the argument):
    the resolver computes the formula instead, unless that variable needs the result state."""


class _Known(dict[str, Value]):
    """The values known so far in one computation. Its `__getitem__` is a formula's quick `g`: a variable among them is
    a plain look-up, and any other stops the formula (`_NotKnown`). Formulas are functions of `g` and `r` alone, so
    one computed this way has the value the resolver would give it."""

    __slots__ = ()

    def __missing__(self, key: str) -> Value:
        raise _NotKnown(key)


class _Resolver:
    """The getter `g` of one computation: memoised, cycle-aware; with `track`, it notes what each formula read."""

    __slots__ = ("active", "asked", "before", "defs", "reads", "state", "state_known", "unknown", "values")

    def __init__(
        self, defs: Mapping[str, Variable], state: Mapping[str, Any] | None, track: bool = False,
        values: _Known | None = None, unknown: set[str] | None = None,
    ) -> None:  # fmt: skip
        self.defs = defs
        self.before = state is None
        self.state = _NO_STATE if state is None else state
        self.asked = 0  # how many values formulas have asked `g` for
        self.values = _Known() if values is None else values  # those known so far
        self.unknown: set[str] = set() if unknown is None else unknown  # those that need the result state
        self.active: list[str] = []
        self.state_known = False  # whether a formula given `r` has a value before the run
        self.reads: dict[str, set[str]] | None = {} if track else None  # each variable -> the variables it read

    def __call__(self, key: str) -> Value:
        self.asked += 1
        if self.reads is not None and self.active:
            self.reads.setdefault(self.active[-1], set()).add(key)
        value = self.values.get(key, _MISSING)
        if value is _MISSING:
            value = self.resolve(key)
            if value is _UNKNOWN:
                raise _StateUnavailable
        return value

    def resolve(self, key: str) -> Value:
        """The value of `key`, computed if it is not known yet; `_UNKNOWN` when it needs the result state."""
        values = self.values
        if key in values:
            return values[key]
        if key in self.unknown:
            return _UNKNOWN
        definition = self.defs.get(key)
        if definition is None:
            asker = f"variable {self.active[-1]!r} asks for" if self.active else "no"
            raise VariableError(f"{asker} unknown variable {key!r}{_did_you_mean(key, self.defs)}")
        if definition.draw is not None:  # not drawn yet: unknown until a run's seed draws it
            self.unknown.add(key)
            return _UNKNOWN
        val = definition.val
        if not callable(val):
            values[key] = val
            return val
        return self.formula(key, definition)

    def formula(self, key: str, definition: Variable) -> Value:
        """A formula's value, computed and kept; `_UNKNOWN` when it needs the result state."""
        active = self.active
        if key in active:
            cycle = [*active[active.index(key) :], key]
            raise VariableError(f"variable cycle: {' -> '.join(cycle)}")
        if self.before and definition.unknown_before:
            self.unknown.add(key)
            return _UNKNOWN
        active.append(key)
        asked = self.asked
        try:
            value = definition.val(self, self.state) if definition.reads_state else definition.val(self)
        except _StateUnavailable:
            self.unknown.add(key)
            if self.before and self.asked == asked:  # it read `r` before any other variable: it always will
                object.__setattr__(definition, "unknown_before", True)
            return _UNKNOWN
        except VariableError:
            raise
        except Exception as exc:
            raise _failed(key, exc) from exc
        finally:
            active.pop()
        self.values[key] = value
        if definition.reads_state:
            self.state_known = True
        return value

    def value(self, key: str) -> Value:
        """The value of `key`, or None when it needs the result state and there is none yet."""
        value = self.resolve(key)
        return None if value is _UNKNOWN else value


def _failed(key: str, exc: Exception) -> VariableError:
    return VariableError(f"variable {key!r} failed: {type(exc).__name__}: {exc}")


def compute(
    variables: Mapping[str, Variable], state: Mapping[str, Any] | None = None, known: Mapping[str, Value] | None = None
) -> dict[str, Value]:
    """Every variable's value: before the run with `state=None` (`v`), after it with the final `r` (`nvars`).
    A random variable not yet drawn (see `realise`) is None, as is every variable computed from it. `known` holds values
    taken as computed: constant overrides, or the values that did not depend on the run (`compute_before`)."""
    return _compute(variables, state, _Known(known) if known else _Known())[0]


def compute_before(
    variables: Mapping[str, Variable], fixed: Mapping[str, Value] | None = None
) -> tuple[dict[str, Value], dict[str, Value]]:
    """`v` (`compute` before the run, with the constants `fixed`), and its values that no run can change, to pass to
    `compute` after the run as `known`. A value known before the run was computed without the state `r`, unless a
    formula given `r` had one (it read `r` some other way than by a key, or not at all): then only `fixed` is kept.
    Formulas are functions of `g` and `r` alone, so the others come out the same after the run."""
    known = _Known(fixed) if fixed else _Known()
    computed, resolver = _compute(variables, None, known)
    if resolver is not None and resolver.state_known:
        return computed, dict(fixed) if fixed else {}
    return computed, known


def _compute(
    variables: Mapping[str, Variable], state: Mapping[str, Any] | None, known: _Known
) -> tuple[dict[str, Value], _Resolver | None]:
    """`compute`, filling `known`; and the resolver, if a formula needed one. A formula is first tried with the quick
    `g` (`_Known`); one that asks for a variable not known yet, or reads `r` before the run, is computed by the
    resolver, which computes what it asks for first."""
    before = state is None
    resolver: _Resolver | None = None  # made for the first formula the quick `g` cannot compute
    unknown: set[str] = set()
    quick = None
    computed: dict[str, Value] = {}
    for key, definition in variables.items():  # each variable in turn; one a formula asked for is known already
        value = known.get(key, _MISSING)
        if value is _MISSING:
            val = definition.val
            if unknown and key in unknown:  # a formula asked for it, and it needs `r`
                value = _UNKNOWN
            elif definition.draw is not None or (before and definition.unknown_before):  # not drawn yet, or needs `r`
                unknown.add(key)
                value = _UNKNOWN
            elif not callable(val):
                value = known[key] = val
            elif not before and (read := definition.state_key) is not None and read in state:  # type: ignore[operator]
                value = known[key] = state[read]  # type: ignore[index]
            else:
                if not (before and definition.reads_state):
                    quick = quick or known.__getitem__
                    try:
                        value = known[key] = val(quick, state) if definition.reads_state else val(quick)
                    except _NotKnown as missing:
                        if missing.args[0] in unknown:  # what it asked for needs `r`: so does it, as the resolver finds
                            unknown.add(key)
                            value = _UNKNOWN
                    except VariableError:
                        raise
                    except Exception as exc:
                        raise _failed(key, exc) from exc
                if value is _MISSING:
                    if resolver is None:
                        resolver = _Resolver(variables, state, values=known, unknown=unknown)
                    value = resolver.formula(key, definition)
        computed[key] = None if value is _UNKNOWN else value
    return computed, resolver
