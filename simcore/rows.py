"""Whether a run's daily rows are read: by a player (beyond writing today's row) or by the `after` hook (beyond day 0).

A run whose rows nobody reads need not build them: `simcore.engine.run(..., stats=False)` then skips copying the state
and every plugin's into a row each day. A function is read from its source (`simcore.source`); one that cannot be read,
or that uses `s` any other way, is taken to read the rows. A callable of ours that never reads them says so with
`reads_rows = False`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Any

from simcore.source import bound_names, function_tree


def player_reads_rows(fn: Callable[..., Any]) -> bool:
    """Whether the player `fn(i, v, r, s, p)` may read `s` other than to write today's row, `s[i][KEY] = ...`."""
    marked = getattr(fn, "reads_rows", None)
    return marked if isinstance(marked, bool) else _read(fn, "player")


def after_reads_rows(fn: Callable[..., Any] | None) -> bool:
    """Whether the `after` hook may read `s` other than its first row, `s[0]`."""
    if fn is None:
        return False
    marked = getattr(fn, "reads_rows", None)
    return marked if isinstance(marked, bool) else _read(fn, "after")


def _read(fn: Callable[..., Any], role: str) -> bool:
    """A plain function is read from its source (once); anything else is taken to read the rows."""
    return _reads(fn, fn.__code__, role) if type(fn) is FunctionType else True


@functools.lru_cache(maxsize=512)
def _reads(fn: Callable[..., Any], code: CodeType, role: str) -> bool:
    """Read once per function and code (`simcore.source`)."""
    tree = function_tree(fn)
    if tree is None:
        return True
    names = [a.arg for a in tree.args.args]
    if role == "player":
        if len(names) != 5 or tree.args.vararg or tree.args.kwarg:
            return True
        allowed, day = _todays_writes(tree, names[3], names[0]), names[0]
        if day in bound_names(tree):
            return True  # `i` reassigned: s[i] may be another day's row
    else:
        if tree.args.kwarg is not None:
            return True  # **kwargs is given `s` too
        if "s" not in names:
            return False
        allowed = _first_row_reads(tree, "s")
    s = names[3] if role == "player" else "s"
    used = {id(n) for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == s}
    return bool(used - allowed)


def _todays_writes(tree: ast.FunctionDef, s: str, i: str) -> set[int]:
    """The `s` names in `s[i][KEY] = ...` targets (a plain assignment: an augmented one reads the row)."""
    found = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else ()
        for target in targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Subscript)
                and isinstance(target.value.value, ast.Name)
                and target.value.value.id == s
                and isinstance(target.value.slice, ast.Name)
                and target.value.slice.id == i
            ):
                found.add(id(target.value.value))
    return found


def _first_row_reads(tree: ast.FunctionDef, s: str) -> set[int]:
    """The `s` names in `s[0]` reads."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == s
        and isinstance(node.slice, ast.Constant)
        and node.slice.value == 0
        and type(node.slice.value) is int
        and isinstance(node.ctx, ast.Load)
    }
