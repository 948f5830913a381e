"""The sandbox's language layer: compile a player fn under RestrictedPython and load it with our guards.

This layer limits which names and attributes player code can touch. It does not bound CPU, memory, output
size, integer size or recursion, and the parser itself can spend memory on hostile input: callers run
`compile_player` and `load_player` (and every call of the loaded fn) in the disposable, resource-limited
child process, never in a worker.

Typical use, in the child::

    sink = PrintSink()
    fn = load_player(compile_player(code), sink)   # PolicyError: refused; anything else: the module body raised
    fn(i, v, r, s, p)                                # on an exception, player_line(exc) says where
"""

from __future__ import annotations

import ast
import inspect
import numbers
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import CodeType, FunctionType, TracebackType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)

from sandbox.builtins import bounded_pow, player_builtins
from sandbox.contract import FN_CALL, MAX_PRINT_BYTES, MAX_SOURCE_BYTES, PLAYER_FILENAME, takes_player_arguments

MAX_MESSAGE_CHARS = 500

_ERROR_LINE = re.compile(r"Line (\d+|None): (.*)", re.DOTALL)

_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": bounded_pow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
}
_INPLACE_TYPES = (numbers.Number, str, list, tuple, set, frozenset, dict)


class PolicyError(Exception):
    """The player code was refused before it ran: too big, not Python, against the policy, or no usable `fn`.

    `line` is the line of the player's code at fault when known; `message` is the reason alone.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message, line)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass(frozen=True)
class CompiledPlayer:
    """Player code that passed the policy, ready for `load_player`."""

    code: CodeType


class PlayerPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus: no class statements.

    A class needs `__metaclass__`, which players do not get, so a class would only fail later with a
    puzzling NameError; refusing it here names the problem and its line.
    """

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:  # noqa: N802 - the name ast.NodeTransformer calls
        self.error(node, "class statements are not allowed; use functions, dicts and lists.")
        return self.node_contents_visit(node)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def compile_player(code: str, max_source_bytes: int = MAX_SOURCE_BYTES) -> CompiledPlayer:
    """Compile player code under the policy, or raise PolicyError saying why and where.

    The size is counted in UTF-8 bytes before any parsing. Every exception the compiler can raise
    (SyntaxError, MemoryError and RecursionError on deep nesting, UnicodeEncodeError on lone surrogates,
    ValueError on NUL bytes) becomes a PolicyError.
    """
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > max_source_bytes:
        raise PolicyError(f"the code is {size:,} bytes; the limit is {max_source_bytes:,} bytes")
    try:
        result = compile_restricted_exec(code, PLAYER_FILENAME, policy=PlayerPolicy)
    except SyntaxError as exc:
        raise PolicyError(_shorten(f"{type(exc).__name__}: {exc.msg}"), exc.lineno) from None
    except (MemoryError, RecursionError) as exc:
        raise PolicyError(f"the code is nested too deeply to compile ({type(exc).__name__})") from None
    except Exception as exc:
        raise PolicyError(_shorten(f"the code cannot be compiled: {type(exc).__name__}: {exc}")) from None
    if result.code is None:
        raise _refusal(result.errors)
    return CompiledPlayer(result.code)


def _refusal(errors: Sequence[str]) -> PolicyError:
    """One PolicyError for RestrictedPython's "Line N: reason" errors: the first line's, then the others."""
    problems = sorted(dict.fromkeys(map(_problem, errors)), key=lambda problem: (problem[0] is None, problem[0] or 0))
    if not problems:
        return PolicyError("the code could not be compiled")
    (line, first), rest = problems[0], problems[1:]
    also = "".join(f"; also line {other_line}: {reason}" for other_line, reason in rest)
    return PolicyError(_shorten(first + also), line)


def _problem(error: str) -> tuple[int | None, str]:
    """(line, reason) from one of RestrictedPython's error strings."""
    match = _ERROR_LINE.fullmatch(error)
    if match is None:
        return None, error
    line, reason = match.groups()
    return (None if line == "None" else int(line)), reason.removesuffix(" at statement: None")


class PrintSink:
    """What one player printed, kept up to `limit` UTF-8 bytes so a print loop cannot flood memory or the record.

    `text` is what was kept; once something had to be dropped, `truncated` is True and the limit counts as
    reached (a character cut in half included), so later output is dropped too and the text never skips a part.
    """

    def __init__(self, limit: int = MAX_PRINT_BYTES) -> None:
        self.limit = limit
        self.truncated = False
        self._parts: list[str] = []
        self._kept = 0

    def write(self, text: str) -> None:
        room = self.limit - self._kept
        data = text[: room + 1].encode("utf-8", "surrogatepass")  # a character is at least one byte
        if len(data) > room:
            data, self.truncated = data[:room], True
            text = data.decode("utf-8", "ignore")
        if text:
            self._parts.append(text)
        self._kept += len(data)

    def flush(self) -> None:
        """`print(..., flush=True)` calls this; nothing is buffered."""

    @property
    def text(self) -> str:
        return "".join(self._parts)


class _Printer:
    """What RestrictedPython's rewritten code calls: `print(...)` becomes `_print._call_print(...)` and
    `printed` becomes `_print()`: everything this load of the player printed so far (a later load, for the
    next seed, does not see what an earlier one printed)."""

    def __init__(self, sink: PrintSink) -> None:
        self._sink = sink
        self._since = len(sink.text)

    def _call_print(self, *objects: Any, **options: Any) -> None:
        if options.pop("file", None) is not None:
            raise TypeError("print(file=...) is not allowed; printed output is collected for you")
        print(*objects, file=self._sink, **options)

    def __call__(self) -> str:
        return self._sink.text[self._since :]


def guarded_getattr(obj: Any, name: str) -> Any:
    """`obj.name` for players: RestrictedPython's `safer_getattr_raise`, and no `mro` of a class.

    `safer_getattr_raise` refuses names starting with "_", the frame and code attributes, and `str.format`;
    `int.mro()` would hand out `object`.
    """
    if name == "mro" and isinstance(obj, type):
        raise AttributeError('"mro" is not available to players')
    return safer_getattr_raise(obj, name)


def guarded_getitem(obj: Any, key: Any) -> Any:
    """`obj[key]`; read-only data must be passed in read-only containers, this guard does not copy."""
    return obj[key]


def guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`func(*args, **kwargs)`: the call RestrictedPython routes star-arguments through."""
    return func(*args, **kwargs)


def inplacevar(op: str, target: Any, value: Any) -> Any:
    """`target op value` for `x += 1` and friends, only when `target` is a number, str, list, tuple, set or dict.

    Anything else might define its own in-place operator; `**=` is bounded like `pow`.
    """
    apply = _INPLACE_OPERATORS.get(op)
    if apply is None:
        raise TypeError(f"the {op} operator is not allowed")
    if not isinstance(target, _INPLACE_TYPES):
        kind = type(target).__name__
        raise TypeError(f"{op} is only allowed on numbers, strings, lists, tuples, sets and dicts, not on {kind}")
    return apply(target, value)


def player_globals(print_sink: PrintSink) -> dict[str, Any]:
    """Fresh globals for one player: a new builtins dict and the guards RestrictedPython's rewritten code calls.

    Nothing mutable is shared between two calls, so one player's globals cannot reach another's.
    There is no `__metaclass__` (class statements are refused at compile time anyway).
    """
    printer = _Printer(print_sink)
    return {
        "__builtins__": player_builtins(),
        "__name__": "player",
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": inplacevar,
        "_apply_": guarded_apply,
        "_print_": lambda _getattr=None: printer,
    }


def load_player(compiled: CompiledPlayer, print_sink: PrintSink) -> Callable[..., Any]:
    """Run the module body in fresh restricted globals and return its `fn`.

    Runs player code: call it only in the disposable child. An exception from the module body (e.g. an
    `import os` at the top) propagates unchanged; a missing `fn`, one that is not a function, or one that
    cannot be called as `fn(i, v, r, s, p)` raises PolicyError. `printed` in player code reads what this load printed.
    """
    namespace = player_globals(print_sink)
    exec(compiled.code, namespace)
    fn = namespace.get("fn")
    if not isinstance(fn, FunctionType) or fn.__code__.co_filename != PLAYER_FILENAME:  # `fn = pow` is not one
        raise PolicyError(f"the code must define a function {FN_CALL}")
    code = fn.__code__
    keywords = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    if not takes_player_arguments(
        code.co_argcount,
        len(fn.__defaults__ or ()),
        bool(code.co_flags & inspect.CO_VARARGS),
        any(name not in (fn.__kwdefaults__ or {}) for name in keywords),
    ):
        shown = _shorten(f"fn{inspect.signature(fn)} cannot be called as {FN_CALL}")
        raise PolicyError(shown, code.co_firstlineno)
    return fn


def player_line(exc: BaseException) -> int | None:
    """The line in the player's code where `exc` happened: its innermost player frame.

    Follows `__cause__` and `__context__` when `exc` itself has no player frame, so the SimulationError
    that simcore raises `from` a player's exception gives the player's line too.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        line = _innermost_player_line(current.__traceback__)
        if line is not None:
            return line
        current = current.__cause__ or current.__context__
    return None


def _innermost_player_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == PLAYER_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
