"""Checks on what leaves a sandbox child: the player's scratch dict (strict) and a run's detail (lenient).

Both are bounded in size; the scratch dict must already be plain, finite JSON data, while a run's detail
(its variables and daily stats, produced by trusted scenario code) is converted to JSON-safe data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_NODES = 10_000
MAX_DETAIL_NODES = 500_000
MAX_DEPTH = 32
MAX_STRING = 10_000
MAX_INT = 2**53  # beyond this an int is not exactly a float, and JSON readers disagree

Path = tuple[Any, ...]


class OutputError(Exception):
    """An output is not plain, finite, bounded data; the message says where."""


def _where(path: Path) -> str:
    return "r" + "".join(f"[{key!r}]" for key in path)


def plain(value: Any) -> Any:
    """A copy of the player's scratch `value` as JSON data (dicts with str keys, lists, str, finite numbers,
    bools, None); anything else, too large or too deep is an OutputError naming where it is."""
    budget = [MAX_NODES]
    return _plain(value, (), budget)


def _plain(value: Any, path: Path, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise OutputError(f"{_where(path)}: more than {MAX_NODES} values in the player's state")
    if len(path) > MAX_DEPTH:
        raise OutputError(f"{_where(path[:3])}...: nested deeper than {MAX_DEPTH} (a cycle?)")
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int and abs(value) > MAX_INT:
        raise OutputError(f"{_where(path)}: the integer is too large (limit 2**53)")
    if kind is float and not math.isfinite(value):
        raise OutputError(f"{_where(path)}: {value} is not a finite number")
    if kind is str and len(value) > MAX_STRING:
        raise OutputError(f"{_where(path)}: a string longer than {MAX_STRING} characters")
    if kind in (int, float, str):
        return value
    if kind in (list, tuple):
        return [_plain(item, (*path, k), budget) for k, item in enumerate(value)]
    if kind is dict:
        bad = next((key for key in value if type(key) is not str), None)
        if bad is not None:
            raise OutputError(f"{_where(path)}: keys must be strings, got {type(bad).__name__}")
        return {key: _plain(item, (*path, key), budget) for key, item in value.items()}
    raise OutputError(f"{_where(path)}: a {kind.__name__} is not plain data (numbers, strings, lists, dicts)")


def readable(value: Any) -> Any:
    """`value` (a run's variables or stats) as JSON-safe data: non-finite numbers become None, mappings dicts,
    sequences lists, anything else its short text; more than MAX_DETAIL_NODES values is an OutputError."""
    budget = [MAX_DETAIL_NODES]
    return _readable(value, budget)


def _readable(value: Any, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise OutputError(f"the run's detail has more than {MAX_DETAIL_NODES} values")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _readable(item, budget) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_readable(item, budget) for item in value]
    return str(value)[:200]
