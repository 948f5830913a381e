"""Checks on what a player leaves behind (its scratch dict): plain JSON data, finite, bounded in size."""

from __future__ import annotations

import math
from typing import Any

MAX_NODES = 10_000
MAX_DEPTH = 32
MAX_STRING = 10_000
MAX_INT = 2**53  # beyond this an int is not exactly a float, and JSON readers disagree


class OutputError(Exception):
    """A player's output is not plain, finite, bounded data; the message says where."""


def plain(value: Any) -> Any:
    """A copy of `value` as JSON data (dicts with str keys, lists, str, finite numbers, bools, None)."""
    budget = [MAX_NODES]
    return _plain(value, "r", 0, budget)


def _plain(value: Any, where: str, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise OutputError(f"{where}: more than {MAX_NODES} values in the player's state")
    if depth > MAX_DEPTH:
        raise OutputError(f"{where}: nested deeper than {MAX_DEPTH} (a cycle?)")
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is int:
        if abs(value) > MAX_INT:
            raise OutputError(f"{where}: the integer is too large (limit 2**53)")
        return value
    if kind is float:
        if not math.isfinite(value):
            raise OutputError(f"{where}: {value} is not a finite number")
        return value
    if kind is str:
        if len(value) > MAX_STRING:
            raise OutputError(f"{where}: a string longer than {MAX_STRING} characters")
        return value
    if kind in (list, tuple):
        return [_plain(item, f"{where}[{k}]", depth + 1, budget) for k, item in enumerate(value)]
    if kind is dict:
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise OutputError(f"{where}: keys must be strings, got {type(key).__name__}")
            result[key] = _plain(item, f"{where}[{key[:40]!r}]", depth + 1, budget)
        return result
    raise OutputError(f"{where}: a {kind.__name__} is not plain data (numbers, strings, lists, dicts)")
