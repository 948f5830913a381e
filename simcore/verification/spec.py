"""A spec over a scenario's KPIs, such as `bond.price >= 0.5 at every day`, parsed with `ast` and a strict whitelist.

Grammar (whitespace is free; nothing outside it is accepted, and nothing is ever `eval`ed):

    spec      := expr OP number [ "at every day" | "at the end" ]      (default: at the end)
    OP        := ">=" | ">" | "<=" | "<"
    number    := a finite int or float literal, optionally with a sign
    expr      := expr ("+" | "-" | "*" | "/") expr | "-" expr | "+" expr | "(" expr ")" | number | name | call
    name      := IDENT ("." IDENT)*                    no part may start with "__"
    call      := "abs(" expr ")" | "log(" expr ")" | "sqrt(" expr ")"      (log is natural)
               | "min(" expr "," expr ("," expr)* ")" | "max(" ... ")"      (two or more arguments: element-wise)
               | AGG "(" name [ "[" [int] ":" [int] "]" ] ")"              (one argument: over the days)
    AGG       := max | min | mean | std | first | last | swing

What a name means:
- At the end, an undotted name is a scenario variable's value after the run (`Result.nvars`); a dotted name is a
  stats column (the daily stats flattened as `simcore.engine.stats_frame` flattens them: plugin state is
  `key.field`, e.g. `bond.price`), read on the last day.
- At every day, a name is the day's value of that stats column; an undotted name that is no column is the
  variable's value after the run. The expression is evaluated on every stats row, day 0 (the state before the
  first day) included.
- An aggregate reads a stats column over the days (`x[a:b]` keeps days a .. b-1, Python's slice rules: `x[-7:]`
  is the last seven): `std` is the sample standard deviation; `swing` the largest absolute day-to-day relative
  change, `max |x[d] / x[d-1] - 1|`.

The margin (`Spec.margin`) is `EXPR - NUMBER` for `>=` and `>`, `NUMBER - EXPR` for `<=` and `<`, in the KPI's own
units: the spec holds exactly when it is >= 0 (> 0 for a strict OP). At every day it is the least over the days.
A KPI that is not a finite number on a day it is read (NaN, an infinity, None, a string; a division by zero, the
log of a non-positive number, an aggregate of an empty slice) makes the margin NaN, and a NaN margin fails: the
project's rule that NaN and infinities in a scored metric disqualify. Several specs checked together (`Specs`)
pass when all hold; their margin is the least of theirs (each in its own units).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simcore.checks import is_number, listed
from simcore.errors import SimulationError

MAX_LENGTH = 1000  # characters of a spec
MAX_DEPTH = 50  # nesting of its expression
OPS = {ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Lt: "<"}
BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
FUNCTIONS = {"abs": np.abs, "log": np.log, "sqrt": np.sqrt}
ELEMENTWISE = {"min": np.minimum, "max": np.maximum}
AGGREGATES = ("max", "min", "mean", "std", "first", "last", "swing")
GRAMMAR = "EXPR OP NUMBER [at every day | at the end], OP one of >=, >, <=, <"
_WHEN = re.compile(r"\s+at\s+(every\s+day|the\s+end)\s*$", re.IGNORECASE)
_AT = re.compile(r"\bat\b", re.IGNORECASE)


class SpecError(SimulationError):
    """A spec could not be parsed, or names something the scenario does not have; the message says where."""


@dataclass(frozen=True)
class Observation:
    """What a spec reads from one run: the variables after it and the stats columns it names, day by day (a column
    absent on a day is None there; one absent on every day is missing, and `columns` then lists those there are)."""

    nvars: Mapping[str, Any]
    series: Mapping[str, Sequence[Any] | None]
    days: int
    columns: Sequence[str] = ()

    @classmethod
    def of(cls, nvars: Mapping[str, Any], stats: Sequence[Mapping[str, Any]], names: Iterable[str]) -> Observation:
        """The observation of a run with these `nvars` and daily `stats` (a `Result`'s), for the columns `names`."""
        series = {name: column(stats, name) for name in names}
        known = known_columns(stats) if any(values is None for values in series.values()) else []
        return cls(nvars, series, len(stats), known)


_ABSENT = object()


def _lookup(row: Mapping[str, Any], name: str) -> Any:
    """`row`'s value of the flattened column `name` (`a.b` is `row["a"]["b"]`, or a key "a.b"), or _ABSENT."""
    value = row.get(name, _ABSENT)
    if value is not _ABSENT or "." not in name:
        return value
    head, _, rest = name.partition(".")
    while True:
        inner = row.get(head, _ABSENT)
        if isinstance(inner, Mapping):
            found = _lookup(inner, rest)
            if found is not _ABSENT:
                return found
        if "." not in rest:
            return _ABSENT
        more, _, rest = rest.partition(".")
        head = f"{head}.{more}"


def column(stats: Sequence[Mapping[str, Any]], name: str) -> list[Any] | None:
    """The column `name` of daily stats rows, a value a day (None on a day without it); None if no day has it."""
    values = [_lookup(row, name) for row in stats]
    if all(value is _ABSENT for value in values):
        return None
    return [None if value is _ABSENT else value for value in values]


def known_columns(stats: Sequence[Mapping[str, Any]]) -> list[str]:
    """The flattened column names of daily stats (those of the first and the last row), for messages."""
    names: dict[str, None] = {}
    for row in (stats[0], stats[-1]) if stats else ():
        names.update(dict.fromkeys(_flat_names(row)))
    return list(names)


def _flat_names(row: Mapping[str, Any], prefix: str = "") -> list[str]:
    names = []
    for key, value in row.items():
        names += _flat_names(value, f"{prefix}{key}.") if isinstance(value, Mapping) else [f"{prefix}{key}"]
    return names


class _Env:
    """How an expression's names are read for one observation (at the end, or at every day)."""

    def __init__(self, spec: Spec, seen: Observation) -> None:
        self.spec = spec
        self.seen = seen
        self.every_day = spec.every_day

    def _column(self, name: str) -> np.ndarray | None:
        values = self.seen.series.get(name)
        if values is None:
            return None
        return np.array([float(x) if is_number(x) else math.nan for x in values], dtype=float)

    def _missing(self, name: str, what: str) -> SpecError:
        columns = self.seen.columns or [key for key, values in self.seen.series.items() if values is not None]
        known = f"variables: {listed(self.seen.nvars)}; " if what != "stats column" else ""
        return SpecError(f"spec {self.spec.text!r}: no {what} {name!r} ({known}stats columns: {listed(columns)})")

    def name(self, name: str) -> Any:
        if self.every_day or "." in name:
            values = self._column(name)
            if values is not None:
                return values if self.every_day else values[-1]
        if "." not in name and name in self.seen.nvars:
            value = self.seen.nvars[name]
            return float(value) if is_number(value) else math.nan
        what = "stats column" if "." in name else "variable or stats column" if self.every_day else "variable"
        raise self._missing(name, what)

    def series(self, name: str, lo: int | None, hi: int | None) -> np.ndarray:
        values = self._column(name)
        if values is None:
            raise self._missing(name, "stats column")
        return values[lo:hi]


Node = Callable[[_Env], Any]


def _aggregate(how: str, x: np.ndarray) -> float:
    if how == "std":
        return float(np.std(x, ddof=1)) if len(x) > 1 else math.nan
    if how == "swing":
        return float(np.max(np.abs(x[1:] / x[:-1] - 1))) if len(x) > 1 else math.nan
    if not len(x):
        return math.nan
    if how in ("first", "last"):
        return float(x[0] if how == "first" else x[-1])
    return float({"max": np.max, "min": np.min, "mean": np.mean}[how](x))


@dataclass(frozen=True)
class Spec:
    """One parsed spec: `margin(seen)` (see the module doc), `holds(seen)`, and the names it reads."""

    text: str
    op: str
    bound: float
    every_day: bool
    variables: frozenset[str]  # undotted names outside aggregates: variables (at every day, columns first)
    columns: frozenset[str]  # what a run must record: aggregated columns, dotted names, at every day every name
    _expr: Node = field(repr=False, compare=False)

    @property
    def strict(self) -> bool:
        """True for > and <: the spec then holds only at a margin above 0."""
        return self.op in (">", "<")

    def _margins(self, seen: Observation) -> tuple[Any, Any]:
        with np.errstate(all="ignore"):
            value = self._expr(_Env(self, seen))
            value = np.asarray(value, dtype=float)
            margin = value - self.bound if self.op in (">=", ">") else self.bound - value
        return value, margin

    def margin(self, seen: Observation) -> float:
        """Signed distance from failing in the KPI's units: >= 0 (> 0 if strict) exactly when the spec holds; the
        least over the days at every day; NaN when the KPI is not a finite number (which fails)."""
        value, margin = self._margins(seen)
        if not np.all(np.isfinite(value)) or margin.size == 0:
            return math.nan
        return float(np.min(margin))

    def kpi(self, seen: Observation) -> float:
        """The KPI expression's value: at the end, after the run; at every day, on the day of the least margin
        (NaN when the margin is NaN)."""
        value, margin = self._margins(seen)
        if not np.all(np.isfinite(value)) or margin.size == 0:
            return math.nan
        return float(value) if value.ndim == 0 else float(value[int(np.argmin(margin))])

    def holds(self, seen: Observation) -> bool:
        """Whether the spec holds on this run (a NaN margin does not)."""
        margin = self.margin(seen)
        return margin > 0 if self.strict else margin >= 0

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Specs:
    """Several specs checked together: a run passes when all hold, and its margin is the least of theirs."""

    items: tuple[Spec, ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise SpecError("no spec given: expected at least one, " + GRAMMAR)

    @property
    def text(self) -> str:
        """The specs' texts joined by " and "."""
        return " and ".join(spec.text for spec in self.items)

    @property
    def columns(self) -> frozenset[str]:
        """The stats columns a run must record for these specs."""
        return frozenset().union(*(spec.columns for spec in self.items))

    def margins(self, seen: Observation) -> list[float]:
        """Each spec's margin on this run."""
        return [spec.margin(seen) for spec in self.items]

    def margin(self, seen: Observation) -> float:
        """The least margin (NaN if any is NaN)."""
        return least(self.margins(seen))

    def holds(self, seen: Observation) -> bool:
        """Whether every spec holds."""
        return all(spec.holds(seen) for spec in self.items)

    def check(self, variables: Mapping[str, Any]) -> None:
        """SpecError naming the known variables if a spec at the end names an undotted variable the scenario lacks
        (a name at every day may be a stats column, known only once a run has made them)."""
        for spec in self.items:
            unknown = sorted(name for name in spec.variables - variables.keys() if not spec.every_day)
            if unknown:
                raise SpecError(
                    f"spec {spec.text!r}: unknown variable {unknown[0]!r} (variables: {listed(variables)}; a stats "
                    "column is named with a dot, or read at every day)"
                )

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def least(margins: Iterable[float]) -> float:
    """The least of margins, NaN if any is NaN (a NaN margin is a failure, the worst there is)."""
    values = list(margins)
    return math.nan if any(math.isnan(m) for m in values) else min(values)


SpecsLike = str | Spec | Specs | Iterable[str | Spec]


def as_specs(specs: SpecsLike) -> Specs:
    """Specs from one spec or several (texts or parsed)."""
    if isinstance(specs, Specs):
        return specs
    if isinstance(specs, (str, Spec)):
        specs = [specs]
    return Specs(tuple(spec if isinstance(spec, Spec) else parse_spec(spec) for spec in specs))


def parse_spec(text: str) -> Spec:
    """Parse `text` (grammar in the module doc); SpecError naming the spec, the column and what was expected."""
    if not isinstance(text, str):
        raise SpecError(f"a spec is a string ({GRAMMAR}), got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise SpecError(f"spec {text[:40]!r}...: longer than {MAX_LENGTH} characters")
    body = text.rstrip()
    when = _WHEN.search(body)
    every_day = bool(when and when.group(1).lower().startswith("every"))
    if when:
        body = body[: when.start()]
    stray = _AT.search(body)
    if stray:
        raise _error(text, stray.start(), "'at every day' or 'at the end' at the end of the spec, after the number")
    indent = len(body) - len(body.lstrip())
    try:
        tree = ast.parse(body.strip(), mode="eval")
    except SyntaxError as exc:
        raise _error(text, indent + (exc.offset or 1) - 1, f"{GRAMMAR} ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise _error(text, indent, f"an expression nested at most {MAX_DEPTH} deep") from None
    return _Parser(text, indent).spec(tree.body, every_day)


def _error(text: str, offset: int, expected: str) -> SpecError:
    return SpecError(f"spec {text!r}: at column {offset + 1}: expected {expected}")


class _Parser:
    """Turns a checked `ast` tree into a function of an `_Env`, refusing every node outside the grammar."""

    def __init__(self, text: str, indent: int) -> None:
        self.text = text
        self.indent = indent
        self.variables: set[str] = set()
        self.columns: set[str] = set()
        self.names: set[str] = set()

    def fail(self, node: ast.AST, expected: str) -> SpecError:
        return _error(self.text, self.indent + getattr(node, "col_offset", 0), expected)

    def spec(self, node: ast.expr, every_day: bool) -> Spec:
        if not isinstance(node, ast.Compare):
            raise self.fail(node, f"a comparison: {GRAMMAR}")
        if len(node.ops) != 1:
            raise self.fail(node.comparators[1], f"one comparison only: {GRAMMAR}")
        op = OPS.get(type(node.ops[0]))
        if op is None:
            raise self.fail(node.comparators[0], "a comparison with >=, >, <= or <")
        bound = self.number(node.comparators[0], f"a number after {op!r} (the expression goes on the left)")
        expr = self.expr(node.left, 0)
        for name in self.names:
            if "." in name or every_day:
                self.columns.add(name)
            if "." not in name:
                self.variables.add(name)
        return Spec(self.text.strip(), op, bound, every_day, frozenset(self.variables), frozenset(self.columns), expr)

    def number(self, node: ast.expr, expected: str) -> float:
        sign = 1.0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            node = node.operand
        if isinstance(node, ast.Constant) and isinstance(node.value, float) and not math.isfinite(node.value):
            raise self.fail(node, "a finite number")
        if not isinstance(node, ast.Constant) or not is_number(node.value):
            raise self.fail(node, expected)
        return sign * float(node.value)

    def expr(self, node: ast.expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(node, f"an expression nested at most {MAX_DEPTH} deep")
        if isinstance(node, ast.Constant):
            value = self.number(node, "a number, a name or a call")
            return lambda env: value
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = self.dotted(node)
            self.names.add(name)
            return lambda env: env.name(name)
        if isinstance(node, ast.BinOp):
            fn = BINARY.get(type(node.op))
            if fn is None:
                raise self.fail(node, "one of the operators + - * / (no **, //, %, or bit operators)")
            left, right = self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)
            return lambda env: fn(left(env), right(env))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.expr(node.operand, depth + 1)
            return (lambda env: np.negative(operand(env))) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Subscript):
            raise self.fail(node, "a day slice only inside an aggregate, e.g. max(x[0:7])")
        raise self.fail(node, "a number, a name, + - * /, or a call of " + ", ".join([*FUNCTIONS, *AGGREGATES]))

    def dotted(self, node: ast.expr) -> str:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            raise self.fail(node, "a name before a '.' (a dotted name is a stats column, e.g. bond.price)")
        parts.append(node.id)
        if any(part.startswith("__") for part in parts):
            raise self.fail(node, "a name not starting with '__'")
        return ".".join(reversed(parts))

    def call(self, node: ast.Call, depth: int) -> Node:
        known = sorted({*FUNCTIONS, *ELEMENTWISE, *AGGREGATES})
        if not isinstance(node.func, ast.Name) or node.func.id not in known:
            what = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise self.fail(node, f"a call of one of {', '.join(known)}, not {what!r}")
        name, args = node.func.id, node.args
        if node.keywords or any(isinstance(a, ast.Starred) for a in args):
            raise self.fail(node, f"plain arguments to {name}() (no keywords or *)")
        if name in ELEMENTWISE and len(args) >= 2:
            fn, parts = ELEMENTWISE[name], [self.expr(a, depth + 1) for a in args]
            return lambda env: _reduce(fn, [part(env) for part in parts])
        if len(args) != 1:
            one = "an expression" if name in FUNCTIONS else "a stats column (optionally sliced: x[0:7])"
            more = " (or two or more expressions, element-wise)" if name in ELEMENTWISE else ""
            raise self.fail(node, f"{name}() of one argument, {one}{more}")
        if name in FUNCTIONS:
            fn, arg = FUNCTIONS[name], self.expr(args[0], depth + 1)
            return lambda env: fn(arg(env))
        return self.aggregate(name, args[0])

    def aggregate(self, how: str, node: ast.expr) -> Node:
        lo = hi = None
        if isinstance(node, ast.Subscript):
            piece = node.slice
            if not isinstance(piece, ast.Slice) or piece.step is not None:
                raise self.fail(piece, "a day slice [a:b] of whole numbers (no step)")
            lo, hi = (None if x is None else self.day(x) for x in (piece.lower, piece.upper))
            node = node.value
        if not isinstance(node, (ast.Name, ast.Attribute)):
            raise self.fail(node, f"a stats column in {how}(), e.g. {how}(bond.price) or {how}(bond.price[0:7])")
        name = self.dotted(node)
        self.columns.add(name)
        return lambda env: _aggregate(how, env.series(name, lo, hi))

    def day(self, node: ast.expr) -> int:
        value = self.number(node, "a whole number of days in the slice")
        if not value.is_integer() or abs(value) > 10**9:
            raise self.fail(node, "a whole number of days in the slice")
        return int(value)


def _reduce(fn: Callable[[Any, Any], Any], values: list[Any]) -> Any:
    result = values[0]
    for value in values[1:]:
        result = fn(result, value)
    return result
