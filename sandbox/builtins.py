"""The names a player fn sees without defining them: an allow-list, deny by default.

Taken from RestrictedPython's `safe_builtins` by name (so a name a later RestrictedPython adds is not given
to players until it is listed here), plus the iteration and container builtins a strategy needs, a vetted
read-only `math`, a bounded `pow`, and an `__import__` that knows only `math`.

Left out on purpose: `getattr`, `setattr`, `delattr`, `vars`, `dir`, `globals`, `locals`, `open`, `eval`,
`exec`, `compile`, `type`, `object`, `super`, `breakpoint`, `input`, `help`, `id`, `hash` (string hashes
change from process to process, so scores would too), `issubclass`, `complex`, `__build_class__` (class
statements are refused at compile time), and the exceptions a player has no reason to name: `BaseException`,
`SystemExit`, `KeyboardInterrupt`, `GeneratorExit`, `MemoryError` (so `except MemoryError:` cannot turn an
out-of-memory into a busy loop), the OS and syntax errors, and the warnings.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from RestrictedPython import safe_builtins

MAX_POW_BITS = 4096
"""`pow` refuses integer results above about this many bits: far beyond any float, cheap to compute."""

_FROM_SAFE_BUILTINS = (
    "None",
    "False",
    "True",
    "Ellipsis",
    "abs",
    "bool",
    "callable",
    "chr",
    "divmod",
    "float",
    "hex",
    "int",
    "isinstance",
    "len",
    "oct",
    "ord",
    "range",
    "repr",
    "round",
    "slice",
    "str",
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "Exception",
    "FloatingPointError",
    "ImportError",
    "IndexError",
    "KeyError",
    "LookupError",
    "NameError",
    "NotImplementedError",
    "OverflowError",
    "RuntimeError",
    "StopIteration",
    "TypeError",
    "UnboundLocalError",
    "ValueError",
    "ZeroDivisionError",
)

# RestrictedPython leaves these out because they iterate in C past `_getiter_`; that guard matters only for
# per-item security checks (Zope), which this sandbox does not use: every item a player can reach this way it
# could also reach with a `for` loop.
_FROM_PYTHON = (
    "min",
    "max",
    "sum",
    "enumerate",
    "zip",
    "sorted",
    "reversed",
    "any",
    "all",
    "map",
    "filter",
    "list",
    "dict",
    "set",
    "frozenset",
    "tuple",
)

# Floating-point functions: each runs in time bounded by its arguments' size. Left out: factorial, comb, perm,
# prod, gcd, lcm and isqrt, whose cost on big integers is unbounded.
_MATH_NAMES = (
    "pi",
    "e",
    "tau",
    "inf",
    "nan",
    "floor",
    "ceil",
    "trunc",
    "fabs",
    "copysign",
    "fmod",
    "remainder",
    "modf",
    "frexp",
    "ldexp",
    "sqrt",
    "cbrt",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "pow",
    "isfinite",
    "isnan",
    "isinf",
    "isclose",
    "fsum",
    "hypot",
    "dist",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "erf",
    "erfc",
    "gamma",
    "lgamma",
)


class ReadOnlyNamespace:
    """A module-like bag of attributes that nobody can change, so one player cannot poison it for the next.

    Unknown names raise AttributeError (never a default), which also keeps RestrictedPython's write guard
    from mistaking it for an object that guards its own writes.
    """

    __slots__ = ("_members", "_name")

    def __init__(self, name: str, members: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_members", MappingProxyType(dict(members)))

    def __getattr__(self, attr: str) -> Any:
        try:
            return self._members[attr]
        except KeyError:
            raise AttributeError(f"{self._name} has no attribute {attr!r} available to players") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"{self._name} is read-only")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"{self._name} is read-only")

    def __repr__(self) -> str:
        return f"<read-only namespace {self._name}>"


MATH = ReadOnlyNamespace("math", {name: getattr(math, name) for name in _MATH_NAMES})
"""The `math` players get: floating-point functions and constants only."""


def bounded_pow(base: Any, exp: Any) -> Any:
    """`pow(base, exp)`, refusing integer powers whose result would exceed about `MAX_POW_BITS` bits.

    `pow(10, 10 ** 9)` would otherwise keep a CPU busy for minutes. The `**` operator cannot be hooked
    without rewriting every expression; the sandbox's process limits bound it instead. Two arguments only:
    modular powers are of no use to a strategy.
    """
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and (abs(base).bit_length() - 1) * exp > MAX_POW_BITS:
        raise ValueError(f"pow() result would exceed {MAX_POW_BITS} bits; use floats, e.g. 10.0 ** n")
    return base**exp


def import_math_only(
    name: str,
    _globals: Mapping[str, Any] | None = None,
    _locals: Mapping[str, Any] | None = None,
    _fromlist: Iterable[str] | None = (),
    level: int = 0,
) -> ReadOnlyNamespace:
    """The `__import__` behind a player's `import` statements: `math` gives the vetted namespace, all else fails."""
    if name == "math" and level == 0:
        return MATH
    raise ImportError(f"import of {name!r} is not allowed: players may import only math (already available as math)")


def player_builtins() -> dict[str, Any]:
    """A new `__builtins__` dict for one player; nothing in it can be changed by player code."""
    names = {name: safe_builtins[name] for name in _FROM_SAFE_BUILTINS}
    names.update({name: getattr(builtins, name) for name in _FROM_PYTHON})
    names.update(math=MATH, pow=bounded_pow, __import__=import_math_only)
    return names
