"""The player's code, taken from a model's reply and checked before the sandbox sees it.

Fenced blocks come first (```python, ```py or a bare ```; of several, the first that passes the checks). A reply
without such a block falls back to its code lines: from the first line that looks like code (an import, a def,
an assignment, a call, ...) to the end, less the prose after the code: the longest such stretch that passes.
The checks: at most `max_bytes` UTF-8 bytes, `ast.parse` succeeds, and a top-level `def fn` can be called as
`fn(i, v, r, s, p)` (the sandbox's own test). Nothing is compiled or run here: the sandbox does that, and refuses
what its policy forbids.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator

from evolver.errors import NoCode
from evolver.syntax import parse
from sandbox.contract import FN_CALL, MAX_SOURCE_BYTES, takes_player_arguments

PYTHON_FENCES = ("", "python", "py", "python3")  # a fence's language, lower-cased

_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
_CODE_LINE = re.compile(
    r"""(
        import\s | from\s+[\w.]+\s+import\s | (async\s+)?def\s | class\s | @\w | \#
        | (if|elif|else|for|while|try|except|finally|with|return|raise|assert|pass|global)\b
        | [A-Za-z_][\w.]*(\[[^\]]*\])?\s*([-+*/%&|^@]|//|\*\*|>>|<<)?=(?!=)   # an assignment
        | [A-Za-z_][\w.]*\(                                                  # a call
        | [)\]}]                                                             # the end of a bracketed expression
    )""",
    re.VERBOSE,
)


def extract_code(text: str, max_bytes: int = MAX_SOURCE_BYTES) -> str:
    """The player's code in `text`, ending with one newline; NoCode with a short reason when there is none."""
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    blocks = [_clean(body) for info, body in _fenced_blocks(lines) if info.lower() in PYTHON_FENCES]
    if blocks:
        return _first_good(blocks, max_bytes)
    return _fallback(lines, max_bytes)


def _refusal(code: str, max_bytes: int) -> NoCode:
    """The NoCode for code that failed `_problem`, carrying the code and the syntax error's line if any."""
    try:
        parse(code)
        line = None
    except SyntaxError as exc:
        line = exc.lineno
    except (RecursionError, MemoryError, ValueError):
        line = None
    return NoCode(str(_problem(code, max_bytes)), code, line)


def _problem(code: str, max_bytes: int) -> str | None:
    """Why `code` cannot be a player (the NoCode reason), or None when it passes the checks."""
    size = len(code.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return f"the code is {size} bytes, over the limit of {max_bytes}"
    try:
        tree = parse(code)
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        return f"the code does not parse: {where}{exc.msg}"
    except (RecursionError, MemoryError):  # CPython's parser gives up on deep nesting with these
        return "the code does not parse: it is nested too deeply"
    except ValueError as exc:  # a null byte, a lone surrogate
        return f"the code does not parse: {exc}"
    fns = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "fn"]
    if not fns:
        return f"no function {FN_CALL}: define `def {FN_CALL}:` at the top level"
    fn = fns[-1]  # the one a run would call
    if isinstance(fn, ast.AsyncFunctionDef):
        return f"fn is `async def`; define a plain `def {FN_CALL}:`"
    if not _takes_player_arguments(fn.args):
        return f"no function {FN_CALL}: fn({ast.unparse(fn.args)}) cannot be called with the five arguments"
    return None


def _takes_player_arguments(args: ast.arguments) -> bool:
    """Whether a function with these parameters can be called as the sandbox calls a player."""
    return takes_player_arguments(
        len(args.posonlyargs) + len(args.args),
        len(args.defaults),
        args.vararg is not None,
        any(default is None for default in args.kw_defaults),
    )


def _clean(code: str) -> str:
    """Code as stored: no BOM, no common indentation, no blank lines around it, one final newline."""
    code = textwrap.dedent(code.removeprefix("\ufeff")).strip("\n").rstrip()
    return code + "\n"


def _fenced_blocks(lines: list[str]) -> Iterator[tuple[str, str]]:
    """`(language, body)` for each fenced block; a block left open (a reply cut short) runs to the end."""
    fence, info, body = None, "", []
    for line in lines:
        match = _FENCE.match(line)
        if fence is None:
            if match:
                fence, info, body = match["fence"], match["info"], []
        elif match and match["fence"][0] == fence[0] and len(match["fence"]) >= len(fence) and not match["info"]:
            yield info, "\n".join(body)
            fence = None
        else:
            body.append(line)
    if fence is not None:
        yield info, "\n".join(body)


def _first_good(blocks: list[str], max_bytes: int) -> str:
    """The first block that passes; else NoCode with the reason of the first block that tries to define fn."""
    reasons = [_problem(code, max_bytes) for code in blocks]
    for code, reason in zip(blocks, reasons, strict=True):
        if reason is None:
            return code
    tried = next((i for i, code in enumerate(blocks) if "def fn" in code), 0)
    raise _refusal(blocks[tried], max_bytes)


def _fallback(lines: list[str], max_bytes: int) -> str:
    """The longest stretch of code lines from the first line of code that passes, prose after it dropped.

    Only lines before the code (prose, a comment above it with prose between) are skipped, never code: a reply
    whose first code fails is refused with the reason of the stretch up to the first line of prose after it.
    """
    start = _start(lines)
    if start is None:
        raise NoCode("no code block")
    ends = _ends(lines, start)
    for end in ends:
        code = _clean("\n".join(lines[start:end]))
        if _problem(code, max_bytes) is None:
            return code
    raise _refusal(_clean("\n".join(lines[start : ends[-1]])), max_bytes)


def _start(lines: list[str]) -> int | None:
    """The first line of code (not a comment), with the comment lines right above it; None when there is none."""
    first = next((n for n, line in enumerate(lines) if _is_code(line) and not line.lstrip().startswith("#")), None)
    while first and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    return first


def _ends(lines: list[str], start: int) -> list[int]:
    """Where the code may end, longest first: the end of the text, then before each line of prose after `start`.

    A line of prose is a non-blank line, no more indented than the start, that does not look like code.
    """
    indent = len(lines[start]) - len(lines[start].lstrip())
    prose = [
        n
        for n in range(start + 1, len(lines))
        if lines[n].strip() and len(lines[n]) - len(lines[n].lstrip()) <= indent and not _is_code(lines[n])
    ]
    return [len(lines), *reversed(prose)]


def _is_code(line: str) -> bool:
    """Whether a line looks like Python rather than prose: a statement keyword, an assignment, a call, a comment."""
    return _CODE_LINE.match(line.lstrip()) is not None
