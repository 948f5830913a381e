"""A trusted scenario function's syntax tree, read from its source and checked against its compiled code.

The fast path of the daily loop reads how a scenario's players and `after` hook use the state and the daily rows.
It trusts a function's source only when compiling that source gives the function's own bytecode, so an edited file, a
wrapper or a function made at run time is never read wrongly: it gets None, and the full path.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from types import FunctionType
from typing import Any

CODE_FLAGS = 0xFFFF  # a code object's own flags; the bits above are `from __future__` imports, which change no bytecode


@functools.lru_cache(maxsize=512)
def function_tree(fn: Any) -> ast.FunctionDef | None:
    """The `def` of a plain module-level function whose source compiles to its code; else None. The tree is shared:
    change a copy."""
    if type(fn) is not FunctionType or fn.__closure__ or fn.__code__.co_flags & inspect.CO_NESTED:
        return None
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].decorator_list:
        return None
    node = tree.body[0]
    try:
        module = compile(tree, fn.__code__.co_filename, "exec", dont_inherit=True)
    except SyntaxError:
        return None
    code = next((c for c in module.co_consts if inspect.iscode(c)), None)
    if code is None or not _same_code(code, fn.__code__):
        return None
    return node


def _same_code(a: Any, b: Any) -> bool:
    """Whether two code objects do the same (line numbers aside)."""
    if (a.co_code, a.co_names, a.co_varnames, a.co_argcount, a.co_kwonlyargcount, a.co_flags & CODE_FLAGS) != (
        b.co_code, b.co_names, b.co_varnames, b.co_argcount, b.co_kwonlyargcount, b.co_flags & CODE_FLAGS
    ):  # fmt: skip
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    return all(
        _same_code(x, y) if inspect.iscode(x) else type(x) is type(y) and x == y
        for x, y in zip(a.co_consts, b.co_consts, strict=True)
    )
