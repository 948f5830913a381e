"""Which of a player's locals can share the generated loop's local of a state key (`simcore.inline`).

AI3's players compute a value into a local and then store it: `usdc = r["usdc"] * r["ai"] / ai; ...;
r["usdc"] = usdc`. In the inlined loop `r["usdc"]` is itself a local, so the store is one more copy a day. The two
can be one variable when nothing could tell them apart:

- the local is assigned once in the player (`L = e`), the key is stored once (`r[K] = L`), later in the same block;
- between the two, nothing reads `r[K]` and nothing leaves the block early (`return`, `break`, `continue`);
- the block is not inside a `try` or `with`, which could carry on after an error between the two.

An error between them ends the run (the player failed), so the state it leaves is never seen.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator, Sequence

LEAVES = (ast.Return, ast.Break, ast.Continue)


def coalesced(tree: ast.FunctionDef, r: str) -> dict[str, str]:
    """The locals of `tree` that can be its state keys' locals: {local: key}. `r` is the state's parameter name;
    the day `i` is left out (the loop sets it)."""
    names = Counter(node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not _loads(node))
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}  # fmt: skip
    stored = Counter(_state_key(node, r) for node in ast.walk(tree) if not _loads(node))
    merged: dict[str, str] = {}
    for body in _blocks(tree.body):
        for end, stmt in enumerate(body):
            pair = _store(stmt, r)
            if pair is None:
                continue
            key, local = pair
            if key == "i" or stored[key] != 1 or names[local] != 1 or local in imported or local in merged:
                continue
            start = next((k for k in range(end) if _assigns(body[k], local)), None)
            if start is not None and not any(_reads_or_leaves(node, key, r) for node in body[start + 1 : end]):
                merged[local] = key
    return merged


def dropped(stmt: ast.stmt, r: str, merged: dict[str, str]) -> bool:
    """Whether `stmt` is `r[K] = L` for a coalesced pair: once the two are one variable, a copy onto itself."""
    pair = _store(stmt, r)
    return pair is not None and merged.get(pair[1]) == pair[0]


def _loads(node: ast.AST) -> bool:
    return not isinstance(node, (ast.Name, ast.Subscript)) or isinstance(node.ctx, ast.Load)


def _state_key(node: ast.AST, r: str) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == r:
        key = node.slice
        return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
    return None


def _store(stmt: ast.AST, r: str) -> tuple[str, str] | None:
    """(K, L) when `stmt` is `r[K] = L`."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.value, ast.Name):
        key = _state_key(stmt.targets[0], r)
        if key is not None:
            return key, stmt.value.id
    return None


def _assigns(stmt: ast.stmt, local: str) -> bool:
    """Whether `stmt` is `local = ...`."""
    return (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and (stmt.targets[0].id == local)
    )


def _reads_or_leaves(stmt: ast.stmt, key: str, r: str) -> bool:
    return any(isinstance(node, LEAVES) or (_loads(node) and _state_key(node, r) == key) for node in ast.walk(stmt))


def _blocks(body: Sequence[ast.stmt]) -> Iterator[Sequence[ast.stmt]]:
    """The function's statement lists, outside any `try` or `with`."""
    yield body
    for stmt in body:
        if isinstance(stmt, (ast.If, ast.For, ast.While)):
            yield from _blocks(stmt.body)
            yield from _blocks(stmt.orelse)
