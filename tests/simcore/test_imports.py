"""simcore's modules import each other without a circle: no module imports one that (through any chain) imports it
back, counting imports inside functions and under TYPE_CHECKING too."""

from __future__ import annotations

import ast
from pathlib import Path

import simcore

ROOT = Path(simcore.__file__).parent


def module_name(path: Path) -> str:
    parts = ("simcore", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The simcore modules `path` imports anywhere in it (`from simcore import plugins` is the subpackage)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("simcore"):
            named = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found |= named | ({node.module} if len(named) < len(node.names) else set())
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("simcore")}
    return found & modules


def graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in ROOT.rglob("*.py")}
    return {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: each strongly connected set of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = [stack.pop()]
            while group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_simcore_module_imports_one_that_imports_it_back() -> None:
    edges = graph()
    assert {"simcore.engine", "simcore.scenario", "simcore.slot", "simcore.agents.netlist"} <= set(edges)
    assert "simcore.plugins" in edges["simcore.scenario"]  # `from simcore import plugins` counts as the subpackage
    assert circles(edges) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
