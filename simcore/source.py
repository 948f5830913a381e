"""A trusted scenario function's syntax tree, read from its source and checked against its compiled code.

The fast path of the daily loop reads how a scenario's players and `after` hook use the state and the daily rows.
It trusts a function's source only when compiling that source gives the function's own bytecode, so an edited file, a
wrapper or a function made at run time is never read wrongly: it gets None, and the full path.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import marshal
import textwrap
from types import CodeType, FunctionType
from typing import Any

CODE_FLAGS = 0xFFFF  # a code object's own flags; the bits above are `from __future__` imports, which change no bytecode


def function_tree(fn: Any) -> ast.FunctionDef | None:
    """The `def` of a plain module-level function whose source compiles to its code; else None. The tree is shared:
    change a copy."""
    if type(fn) is not FunctionType or fn.__closure__ or fn.__code__.co_flags & inspect.CO_NESTED:
        return None
    return _tree(fn, fn.__code__)


@functools.lru_cache(maxsize=512)
def _tree(fn: FunctionType, code: CodeType) -> ast.FunctionDef | None:
    """Read once per function and code (a reload that swaps a function's code, as IPython's autoreload does, is read
    anew)."""
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].decorator_list:
        return None
    try:  # beside its module's imports: the compiler calls a function of an imported module without binding a method
        module = compile(ast.Module([*_imports(code.co_filename), *tree.body], []), code.co_filename, "exec",
                         dont_inherit=True)  # fmt: skip
    except SyntaxError:
        return None
    compiled = next((c for c in module.co_consts if inspect.iscode(c)), None)
    if compiled is None or not _same_code(compiled, code):
        return None
    return tree.body[0]


def _imports(filename: str) -> list[ast.stmt]:
    """The import statements of a module's own scope (outside its functions and classes; `__future__` aside, which
    changes flags, not bytecode)."""
    try:
        module = ast.parse("".join(linecache.getlines(filename)))
    except SyntaxError:
        return []
    found: list[ast.stmt] = []
    pending: list[ast.AST] = list(module.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.module != "__future__"):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.expr)):
            pending.extend(ast.iter_child_nodes(node))
    return found


def _same_code(a: CodeType, b: CodeType) -> bool:
    """Whether two code objects do the same (line numbers aside)."""
    if (a.co_code, a.co_names, a.co_varnames, a.co_argcount, a.co_kwonlyargcount, a.co_flags & CODE_FLAGS) != (
        b.co_code, b.co_names, b.co_varnames, b.co_argcount, b.co_kwonlyargcount, b.co_flags & CODE_FLAGS
    ):  # fmt: skip
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    return all(
        _same_code(x, y) if inspect.iscode(x) and inspect.iscode(y) else _same_constant(x, y)
        for x, y in zip(a.co_consts, b.co_consts, strict=True)
    )


def _same_constant(x: Any, y: Any) -> bool:
    """Exactly the same constant: marshal tells -0.0 from 0.0 and 1 from 1.0 (== does not)."""
    try:
        return marshal.dumps(x) == marshal.dumps(y)
    except ValueError:
        return False


def bound_names(tree: ast.FunctionDef) -> set[str]:
    """The names a function's body binds: assignment targets and imports (its parameters count if reassigned)."""
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names
