"""The daily loop compiled for one scenario: its players' bodies inlined, the state `r` in local variables.

AI3's players are functions `fn(i, v, r, s, p)` that read and write the state dict `r`; called twice a day for a
year, the calls and the dict look-ups are most of a simulation's time. When every player is a plain function that

- uses `r` only as `r[KEY]` with a constant KEY the initial state already has (read, written, augmented),
- uses `s` only to write today's row, `s[i][KEY] = ...`,
- reads none of its locals before assigning it, and assigns none of its parameters,
- has no nested scopes (lambdas, comprehensions, defs), `global`, `del`, walrus, `except ... as`, or `return` inside
  a loop, and does not look at its frame (`locals`, `vars`, `eval`, `exec`, `dir`, `super`),

the loop is generated as one function: each body in turn, each `r[KEY]` a local (shared with the player's local
stored to it where nothing can tell them apart, `simcore.coalesce`), `v[KEY]` read once before the loop, today's row
built from those locals. Its results are the general loop's (`simcore.engine`) bit for bit, its errors
too; a scenario with any other player gets the general loop.
"""

from __future__ import annotations

import ast
import copy
import functools
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

from simcore.coalesce import coalesced, dropped
from simcore.errors import player_failed, plugin_failed
from simcore.source import bound_names, function_tree

PREFIX = "_sc"  # the generated loop's own names; a player naming anything so is not inlined
REFUSED_NODES = (
    ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr, ast.Yield, ast.YieldFrom,
    ast.Await, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global, ast.Nonlocal, ast.Delete, ast.Match,
    ast.TryStar, ast.AsyncFor, ast.AsyncWith,
)  # fmt: skip
FRAME_READERS = frozenset({"locals", "vars", "eval", "exec", "dir", "super"})


class NotInlinedError(Exception):
    """A player the generated loop cannot take as it is (the reason is the message)."""


Loop = Callable[..., None]


@dataclass(frozen=True)
class Params:
    """A player's five parameter names, by role."""

    i: str
    v: str
    r: str
    s: str
    p: str


def compiled_loop(
    players: Sequence[tuple[str, Callable[..., Any]]], keys: tuple[str, ...], v_keys: Iterable[str], plugins: int,
    enders: bool, rows: bool,
) -> Loop | None:  # fmt: skip
    """The loop for `players` (key, fn) when every one can be inlined, else None. `keys` is the initial state's keys in
    order, `v_keys` the variables', `plugins` how many plugins snapshot their state into each row (when `rows`)."""
    fns = tuple(fn for _, fn in players)
    if not fns or any(type(fn) is not FunctionType for fn in fns) or len({id(fn.__globals__) for fn in fns}) != 1:
        return None  # a callable object, or players of several modules: the general loop
    if not all(type(key) is str for key in keys):
        return None  # the loop's text names the state's keys
    codes = tuple(fn.__code__ for fn in fns)
    return _compiled(tuple(key for key, _ in players), fns, codes, keys, frozenset(v_keys), plugins, enders, rows)


@functools.lru_cache(maxsize=256)
def _compiled(
    names: tuple[str, ...], fns: tuple[Callable[..., Any], ...], codes: tuple[CodeType, ...], keys: tuple[str, ...],
    v_keys: frozenset[str], plugins: int, enders: bool, rows: bool,
) -> Loop | None:  # fmt: skip
    """The loop, or None (remembered) when a player cannot be inlined; once per players and their code."""
    r_names = {key: f"{PREFIX}_r{n}" for n, key in enumerate(keys)}
    v_read: dict[str, str] = {}
    try:
        rewrites = [_Rewrite(n, fn, r_names, v_keys, v_read, rows) for n, fn in enumerate(fns)]
    except NotInlinedError:
        return None
    day_read = any(r_names["i"] in rewrite.r_used for rewrite in rewrites)
    bodies = [rewrite.text for rewrite in rewrites]
    source, players_at = _source(names, bodies, r_names, v_read, plugins, enders, rows, day_read)
    namespace: dict[str, Any] = {}
    code = compile(source, f"<simcore loop of {', '.join(names)}>", "exec", dont_inherit=True)
    exec(code, fns[0].__globals__, namespace)  # the players' own globals: what their bodies name resolves there
    loop = namespace[f"{PREFIX}_loop"]
    loop.__defaults__ = (range, Exception, players_at, player_failed, plugin_failed)  # its builtins, whatever the
    # players' module calls so, and what it raises
    loop.source = source
    loop.uses_p = any(rewrite.uses_p for rewrite in rewrites)  # whether a player may reach `p` (and its `rng`)
    return loop


def _params(tree: ast.FunctionDef) -> Params:
    args = tree.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or len(args.args) != 5 or args.defaults:
        raise NotInlinedError("a player takes exactly (i, v, r, s, p)")
    return Params(*(a.arg for a in args.args))


def _check(tree: ast.FunctionDef, params: Params) -> None:
    """Refuse what the rewritten body would do differently."""
    roles = set(vars(params).values())
    for node in ast.walk(tree):
        if node is not tree and isinstance(node, REFUSED_NODES):
            raise NotInlinedError(f"{type(node).__name__} on line {node.lineno}")
        if isinstance(node, ast.ExceptHandler) and node.name:
            raise NotInlinedError("except ... as")
        if isinstance(node, ast.Name) and (
            node.id.startswith(PREFIX) or (node.id in FRAME_READERS and node.id not in roles)
        ):
            raise NotInlinedError(f"the name {node.id!r}")
        if isinstance(node, ast.alias) and ({node.name, node.asname} & FRAME_READERS or node.name == "builtins"):
            raise NotInlinedError(f"the import {node.name!r}")  # a frame reader under another name
        if isinstance(node, (ast.For, ast.While)) and any(isinstance(x, ast.Return) for x in ast.walk(node)):
            raise NotInlinedError("a return inside a loop")
    bound = bound_names(tree)
    if bound & roles or any(name.startswith(PREFIX) for name in bound):
        raise NotInlinedError(f"the body binds {sorted(bound & roles) or 'a name of the loop'}")
    _Defined(_locals(tree)).block(tree.body, set())


def _locals(tree: ast.FunctionDef) -> frozenset[str]:
    """The names the function binds (its locals, parameters aside)."""
    return frozenset(bound_names(tree) - {a.arg for a in tree.args.args})


class _Defined:
    """Definite assignment: every local is assigned before any read of it on every path (so a run of the inlined body
    never sees a value from the day before where the function would have raised UnboundLocalError)."""

    def __init__(self, local: frozenset[str]) -> None:
        self.local = local

    def reads(self, node: ast.AST | None, defined: set[str]) -> None:
        for name in ast.walk(node) if node is not None else ():
            if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Load) and name.id in self.local - defined:
                raise NotInlinedError(f"{name.id!r} may be read before it is assigned")

    def bind(self, target: ast.AST, defined: set[str]) -> None:
        """A target's names become defined; what it reads (subscripts, attributes) is checked first."""
        if isinstance(target, ast.Name):
            defined.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, defined)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, defined)
        else:
            self.reads(target, defined)

    def block(self, body: Sequence[ast.stmt], defined: set[str]) -> set[str]:
        """The names defined after `body` runs to its end, given those defined before."""
        for stmt in body:
            self.stmt(stmt, defined)
        return defined

    def stmt(self, stmt: ast.stmt, defined: set[str]) -> None:
        if isinstance(stmt, ast.Assign):
            self.reads(stmt.value, defined)
            for target in stmt.targets:
                self.bind(target, defined)
        elif isinstance(stmt, ast.AugAssign):
            self.reads(stmt.value, defined)
            self.reads(ast.Name(stmt.target.id, ast.Load()) if isinstance(stmt.target, ast.Name) else stmt.target,
                       defined)  # fmt: skip
        elif isinstance(stmt, ast.AnnAssign):
            self.reads(stmt.annotation, defined)
            if stmt.value is not None:
                self.reads(stmt.value, defined)
                self.bind(stmt.target, defined)
        elif isinstance(stmt, ast.If):
            self.reads(stmt.test, defined)
            yes = self.block(stmt.body, set(defined))
            no = self.block(stmt.orelse, set(defined))
            defined |= (no if _ends(stmt.body) else yes if _ends(stmt.orelse) else yes & no) - defined
        elif isinstance(stmt, ast.For):
            self.reads(stmt.iter, defined)
            inner = set(defined)
            self.bind(stmt.target, inner)
            self.block(stmt.body, inner)
            self.block(stmt.orelse, set(defined))
        elif isinstance(stmt, ast.While):
            self.reads(stmt.test, defined)
            self.block(stmt.body, set(defined))
            self.block(stmt.orelse, set(defined))
        elif isinstance(stmt, ast.With):
            for item in stmt.items:
                self.reads(item.context_expr, defined)
            inner = set(defined)
            for item in stmt.items:
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, inner)
            self.block(stmt.body, inner)  # a context manager may swallow an error: nothing counts after it
        elif isinstance(stmt, ast.Try):
            self.block(stmt.body, set(defined))
            for handler in stmt.handlers:
                self.reads(handler.type, defined)
                self.block(handler.body, set(defined))
            self.block(stmt.orelse, set(defined))
            self.block(stmt.finalbody, defined)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            defined |= {(alias.asname or alias.name).split(".")[0] for alias in stmt.names}
        else:  # Expr, Return, Raise, Assert, Pass, Break, Continue
            for child in ast.iter_child_nodes(stmt):
                self.reads(child, defined)


def _ends(body: Sequence[ast.stmt]) -> bool:
    """Whether a block always leaves (its last statement returns, raises, breaks or continues)."""
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Break, ast.Continue))


class _Rewrite(ast.NodeTransformer):
    """Player `n`'s body in the loop's names (`text`; NotInlinedError if it cannot be): `r[KEY]` a local,
    `s[i][KEY] = x` today's row (or, without rows, only `x`), `i` the day, locals prefixed, and `return` a `break` out
    of a one-pass `while` around the body. `uses_p` says whether it names `p`."""

    def __init__(self, n: int, fn: Callable[..., Any], r_names: Mapping[str, str], v_keys: frozenset[str],
                 v_read: dict[str, str], rows: bool) -> None:  # fmt: skip
        tree = function_tree(fn)
        if tree is None:
            raise NotInlinedError(f"{fn!r} has no source that matches its code")
        self.params = _params(tree)
        _check(tree, self.params)
        self.n, self.local, self.uses_p, self.r_used = n, _locals(tree), False, set[str]()
        self.r_names, self.v_keys, self.v_read, self.rows = r_names, v_keys, v_read, rows
        self.merged = {local: key for local, key in coalesced(tree, self.params.r).items() if key in r_names}
        body = self.rewrite(copy.deepcopy(tree.body))
        if any(isinstance(node, ast.Return) for node in ast.walk(ast.Module(body, []))):
            raise NotInlinedError("a return is left")  # every return became a break; a safety net
        self.text = ast.unparse(ast.Module(body, []))

    def rewrite(self, body: list[ast.stmt]) -> list[ast.stmt]:
        body = self.generic_visit(ast.Module(body, [])).body  # a statement may become several, or none
        if any(isinstance(node, ast.Break) and getattr(node, "returns", False) for s in body for node in ast.walk(s)):
            body = [ast.While(ast.Constant(True), [*body, ast.Break()], [])]
        return [ast.fix_missing_locations(stmt) for stmt in body]

    def visit_Assign(self, node: ast.Assign) -> ast.stmt | None:
        if dropped(node, self.params.r, self.merged):
            return None
        if not self.rows:  # nobody reads today's row: a write to it is only its value's evaluation
            node.targets = [target for target in node.targets if not self._todays(target)]
            if not node.targets:
                return ast.copy_location(ast.Expr(self.visit(node.value)), node)
        return self.generic_visit(node)

    def _todays(self, target: ast.AST) -> bool:
        """Whether `target` is `s[i][KEY]` (`visit_Subscript` refuses any other use of `s`)."""
        params = self.params
        return (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Subscript)
            and _is_name(target.value.value, params.s)
            and _is_name(target.value.slice, params.i)
            and _key(target.slice) is not None
        )

    def visit_Return(self, node: ast.Return) -> list[ast.stmt]:
        out = ast.Break()
        out.returns = True  # type: ignore[attr-defined]
        value = [ast.Expr(self.visit(node.value))] if node.value is not None else []
        return [*value, out]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        params = self.params
        if node.id in (params.r, params.s):
            allowed = f"{params.r}[KEY] or {params.s}[{params.i}][KEY] = ..."
            raise NotInlinedError(f"{node.id!r} used other than as {allowed}")
        renamed = {params.i: f"{PREFIX}_day", params.v: f"{PREFIX}_v", params.p: f"{PREFIX}_p"}.get(node.id)
        self.uses_p = self.uses_p or node.id == params.p
        if node.id in self.merged:  # a local one with a state key's (`simcore.coalesce`)
            renamed = self.r_names[self.merged[node.id]]
            self.r_used.add(renamed)
        elif renamed is None and node.id in self.local:
            renamed = f"{PREFIX}{self.n}_{node.id}"
        return ast.copy_location(ast.Name(renamed, node.ctx), node) if renamed else node

    def visit_alias(self, node: ast.alias) -> ast.alias:
        bound = (node.asname or node.name).split(".")[0]
        if "." in node.name and not node.asname:
            raise NotInlinedError(f"import {node.name} binds a dotted name")
        return ast.alias(node.name, f"{PREFIX}{self.n}_{bound}")

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        params, key = self.params, _key(node.slice)
        if _is_name(node.value, params.r):
            if key not in self.r_names:
                raise NotInlinedError(f"{params.r}[{key!r}] is not a key of the initial state")
            self.r_used.add(self.r_names[key])
            return ast.copy_location(ast.Name(self.r_names[key], node.ctx), node)
        if isinstance(node.value, ast.Subscript) and _is_name(node.value.value, params.s):
            if not (_is_name(node.value.slice, params.i) and key is not None and isinstance(node.ctx, ast.Store)):
                raise NotInlinedError(f"{params.s} used other than as {params.s}[{params.i}][KEY] = ...")
            return ast.copy_location(ast.Subscript(ast.Name(f"{PREFIX}_row", ast.Load()), node.slice, node.ctx), node)
        if _is_name(node.value, params.v) and key in self.v_keys and isinstance(node.ctx, ast.Load):
            name = self.v_read.setdefault(key, f"{PREFIX}_v{len(self.v_read)}")
            return ast.copy_location(ast.Name(name, ast.Load()), node)
        return self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        if isinstance(target, ast.Subscript) and self._todays(target):
            raise NotInlinedError(f"{self.params.s}[...][KEY] augmented (a read of the row)")
        return self.generic_visit(node)


def _key(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _source(names: Sequence[str], bodies: Sequence[str], r_names: Mapping[str, str], v_read: Mapping[str, str],
            plugins: int, enders: bool, rows: bool, day_read: bool) -> tuple[str, dict[int, str]]:  # fmt: skip
    """The loop's text: what the general loop does for these players, day by day, with the state in locals; and the
    lines of each player's body. One `try` around the days: an error is the player's whose lines it came from, or the
    plugin's whose day's end raised it (else the loop's own, raised as it is), so the days pay for no handler of their
    own. `r["i"]` is set each day only
    when a player reads it (`day_read`); else once, at the end."""
    p, i = PREFIX, r_names["i"]
    lines = [f"def {p}_loop({p}_days, {p}_v, {p}_r, {p}_s, {p}_p, {p}_enders, {p}_states, {p}_range=None,"]
    lines += [f"             {p}_exception=None, {p}_players_at=None, {p}_fail=None, {p}_plugin_failed=None):"]
    lines += [f"    {local} = {p}_r[{key!r}]" for key, local in r_names.items()]
    lines += [f"    {local} = {p}_v[{key!r}]" for key, local in v_read.items()]
    lines += [f"    {p}_key{k}, {p}_state{k} = {p}_states[{k}]" for k in range(plugins if rows else 0)]
    lines += ["    try:", f"        for {p}_day in {p}_range(1, {p}_days + 1):"]
    lines += [f"            {i} = {p}_day"] if day_read else []
    lines += [f"            {p}_row = {{'i': {p}_day}}"] if rows else []
    players_at: dict[int, str] = {}
    for name, body in zip(names, bodies, strict=True):
        text = textwrap.indent(body or "pass", " " * 12).splitlines()
        players_at.update((len(lines) + 1 + k, name) for k in range(len(text)))
        lines += text
    ender_line = 0
    if enders:
        lines += [f"            for {p}_end in {p}_enders:", f"                {p}_end.end_day({p}_day)"]
        ender_line = len(lines)
    if rows:
        state = ", ".join(f"{key!r}: {p + '_day' if key == 'i' and not day_read else local}"
                          for key, local in r_names.items())  # fmt: skip
        lines += [f"            {p}_out = {{{state}}} | {p}_row"]
        lines += [f"            {p}_out[{p}_key{k}] = {p}_state{k}()" for k in range(plugins)]
        lines += [f"            {p}_s.append({p}_out)"]
    lines += [f"    except {p}_exception as {p}_exc:"]
    if enders:
        lines += [f"        if {p}_exc.__traceback__.tb_lineno == {ender_line}:"]
        lines += [f"            raise {p}_plugin_failed({p}_end.key, {p}_day, {p}_exc) from {p}_exc"]
    lines += [f"        {p}_name = {p}_players_at.get({p}_exc.__traceback__.tb_lineno)"]
    lines += [f"        if {p}_name is None:", "            raise"]
    lines += [f"        raise {p}_fail({p}_name, {p}_day, {p}_exc) from {p}_exc"]
    lines += [] if day_read else [f"    if {p}_days >= 1:", f"        {i} = {p}_days"]
    lines += [f"    {p}_r[{key!r}] = {local}" for key, local in r_names.items()]
    return "\n".join(lines) + "\n", players_at
