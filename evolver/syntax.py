"""Parsing Python source from many threads of one process.

CPython 3.11 keeps one AST-construction depth counter per interpreter: when a collection runs a finalizer that
lets another thread parse in the middle of building a tree, `ast.parse` can fail with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905; reproduced here with 4 threads). Jobs run their
steps in threads (in-process runs, the API server), so every parse in this process goes through one lock.
"""

from __future__ import annotations

import ast
import threading

_parsing = threading.Lock()


def parse(source: str) -> ast.Module:
    """`ast.parse(source)`, one thread at a time; raises what `ast.parse` raises (SyntaxError, ...)."""
    with _parsing:
        return ast.parse(source)
