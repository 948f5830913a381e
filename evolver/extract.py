"""The player's code, taken from a model's reply and checked before the sandbox sees it.

Fenced blocks come first (```python, ```py or a bare ```; of several, the first that passes the checks). A reply
without such a block falls back to its code lines: from the first line that looks like code (an import, a def,
an assignment, a call, ...) to the end, less the prose after the code: the longest such stretch that passes.
The checks: at most `max_bytes` UTF-8 bytes, `ast.parse` succeeds, and a top-level `def fn` can be called as
`fn(i, v, r, s, p)` (the sandbox's own test). Nothing is compiled or run here: the sandbox does that, and refuses
what its policy forbids.

A reply to a prompt that offered code to edit (`extract_edit`) may instead hold SEARCH/REPLACE blocks, applied to
that code in order:

    <<<<<<< SEARCH
    exact lines of the code
    =======
    the lines that replace them
    >>>>>>> REPLACE

Each SEARCH must match exactly one place (trailing whitespace aside). A malformed block or one that does not match
falls back to a whole ```python block of the same reply (one without such blocks); without one, NoCode names the
block, carrying the code it was to edit, so the next try repairs it with the whole code.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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


_SEARCH = re.compile(r"^\s*<{5,}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,}\s*$")
_REPLACE = re.compile(r"^\s*>{5,}\s*REPLACE\s*$")
EDITS = ("diff", "rewrite")  # how a reply gave its code: SEARCH/REPLACE blocks applied to the code shown, or whole


@dataclass(frozen=True)
class Extracted:
    """A reply's code, and how the reply gave it (one of EDITS)."""

    code: str
    edit: str


class DiffError(ValueError):
    """SEARCH/REPLACE blocks that cannot be applied; the message names the block and what to do."""


def extract_code(text: str, max_bytes: int = MAX_SOURCE_BYTES) -> str:
    """The player's code in `text`, ending with one newline; NoCode with a short reason when there is none."""
    lines = _lines(text)
    blocks = [_clean(body) for info, body in _fenced_blocks(lines) if info.lower() in PYTHON_FENCES]
    if blocks:
        return _first_good(blocks, max_bytes)
    return _fallback(lines, max_bytes)


def extract_edit(text: str, base: str | None, max_bytes: int = MAX_SOURCE_BYTES) -> Extracted:
    """The player's code in a reply to a prompt that showed `base` to edit (None: nothing to edit): `base` with the
    reply's SEARCH/REPLACE blocks applied ("diff"), or the whole code the reply gives ("rewrite", as
    `extract_code`). Blocks that do not apply fall back to a whole fenced block without SEARCH/REPLACE lines; with
    none, NoCode says which block failed, carrying `base`. Code the blocks make that fails the checks is refused as
    a whole block's would be (NoCode with that code and its line)."""
    lines = _lines(text)
    if not any(_SEARCH.match(line) for line in lines):
        return Extracted(extract_code(text, max_bytes), "rewrite")
    try:
        code = apply_diff(base, _diff_blocks(lines))
    except DiffError as exc:
        whole = [
            _clean(body) for info, body in _fenced_blocks(lines)
            if info.lower() in PYTHON_FENCES and not any(_SEARCH.match(line) for line in body.split("\n"))
        ]  # fmt: skip
        if whole:
            return Extracted(_first_good(whole, max_bytes), "rewrite")
        raise NoCode(f"{exc}; reply with the whole code in one ```python block", base, edit="diff") from None
    if _problem(code, max_bytes) is not None:
        raise _refusal(code, max_bytes, edit="diff")
    return Extracted(code, "diff")


def apply_diff(base: str | None, blocks: Sequence[tuple[list[str], list[str]]]) -> str:
    """`base` with each (search lines, replace lines) block applied in order, cleaned as stored code; a DiffError
    when there is no base, or a block's search lines are empty or do not match exactly one place (lines compared
    without their trailing whitespace)."""
    if base is None:
        raise DiffError("the reply has SEARCH/REPLACE blocks, but this prompt gave no code to edit")
    code = base.split("\n")
    for number, (search, replace) in enumerate(blocks, 1):
        which = f"SEARCH/REPLACE block {number} of {len(blocks)}"
        if not search:
            raise DiffError(f"{which} has no SEARCH lines: quote the lines it replaces")
        wanted = [line.rstrip() for line in search]
        stripped = [line.rstrip() for line in code]
        found = [n for n in range(len(code) - len(wanted) + 1) if stripped[n : n + len(wanted)] == wanted]
        if len(found) != 1:
            where = "match no lines of the code" if not found else f"match {len(found)} places in the code"
            hint = "copy them exactly, indentation included" if not found else "quote more lines, to match one"
            raise DiffError(f"{which}: its SEARCH lines ({_quoted(search[0])}...) {where}; {hint}")
        code[found[0] : found[0] + len(wanted)] = replace
    return _clean("\n".join(code))


def _diff_blocks(lines: list[str]) -> list[tuple[list[str], list[str]]]:
    """The reply's SEARCH/REPLACE blocks as (search lines, replace lines); a DiffError names a malformed one."""
    blocks: list[tuple[list[str], list[str]]] = []
    part: list[str] | None = None  # the lines being read: the search part, then the replace part
    search: list[str] = []
    for line in lines:
        if _SEARCH.match(line):
            if part is not None:
                raise DiffError(f"SEARCH/REPLACE block {len(blocks) + 1} is malformed: it has no `>>>>>>> REPLACE`")
            part = search = []
        elif part is None:
            continue  # prose or fences between the blocks
        elif _DIVIDER.match(line) and part is search:
            part = []
        elif _REPLACE.match(line):
            if part is search:
                raise DiffError(f"SEARCH/REPLACE block {len(blocks) + 1} is malformed: it has no `=======` line")
            blocks.append((search, part))
            part = None
        else:
            part.append(line)
    if part is not None:
        raise DiffError(f"SEARCH/REPLACE block {len(blocks) + 1} is malformed: it has no `>>>>>>> REPLACE`")
    return blocks


def _quoted(line: str) -> str:
    return repr(textwrap.shorten(line.strip(), 40, placeholder="..."))


def _lines(text: str) -> list[str]:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")


def _refusal(code: str, max_bytes: int, edit: str = "rewrite") -> NoCode:
    """The NoCode for code that failed `_problem`, carrying the code and the syntax error's line if any."""
    try:
        parse(code)
        line = None
    except SyntaxError as exc:
        line = exc.lineno
    except (RecursionError, MemoryError, ValueError):
        line = None
    return NoCode(str(_problem(code, max_bytes)), code, line, edit)


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
