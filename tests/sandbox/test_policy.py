"""The sandbox's language layer in-process: what compile_player refuses, what a loaded player can reach, and
where errors point. The process limits (CPU, memory, wall clock) are tested through real children elsewhere."""

import json
import math
from pathlib import Path
from types import MappingProxyType

import pytest

from sandbox.builtins import MATH, MAX_POW_BITS
from sandbox.policy import (
    MAX_MESSAGE_CHARS,
    PolicyError,
    PrintSink,
    compile_player,
    load_player,
    player_globals,
    player_line,
)
from simcore import SimulationError
from simcore.engine import Handles
from simcore.plugins import Dex

SAMPLE = json.loads((Path(__file__).resolve().parent / "data" / "redteam_sample.json").read_text())
CASES = {case["id"]: case for case in SAMPLE["cases"]}
CONTROLS = {control["id"]: control for control in SAMPLE["controls"]}

# Every case refused at compile time, with the player line the refusal names (None: no single line).
COMPILE_REFUSALS = {
    "dunder-subclasses-tuple": 2,
    "dunder-func-globals": 2,
    "type-builtin": 2,
    "match-class-pattern": 2,
    "exec-call": 2,
    "breakpoint-call": 2,
    "frame-gi-frame": 4,
    "frame-gi-code": 4,
    "frame-sys-getframe": 3,
    "imp-star": 1,
    "imp-dunder-import-call": 2,
    "class-def-dunder-float": 1,
    "size-1mb-code": None,
    "cheat-private-plugin-attr": 2,
    "cheat-try-star": 2,
    "syn-indent": 2,
    "syn-py2-print": 2,
    "syn-prose-prefix": 1,
    "syn-deep-unary": None,
    "syn-type-alias-312": 1,
    "syn-lazy-import-315": 1,
    "fullwidth-exec": 2,
    "bom-prefix": 1,
    "nul-byte": None,
}
# RefusedError when loaded: the module body raises, or there is no usable fn; with the player line named.
LOAD_REFUSALS = {
    "imp-os-module-level": (ImportError, 1),
    "ret-none-function": (PolicyError, None),
    "syn-wrong-arity": (PolicyError, 1),
}
# Loaded fine, then fail when called, at the player line given.
CALL_FAILURES = {
    "bigint-pow-builtin": (ValueError, 2),  # pow is bounded
    "math-factorial": (AttributeError, 2),  # not in the vetted math
    "compile-call": (NameError, 2),
    "open-read-passwd": (NameError, 2),
    "globals-plain": (NameError, 2),
    "imp-threading": (ImportError, 2),
    "fork-multiprocessing": (ImportError, 2),
    "fmt-str-format": (NotImplementedError, 2),
    "fmt-str-class-format": (NotImplementedError, 2),
    "fmt-string-formatter": (ImportError, 2),
    "frame-getattr-gi-frame": (NameError, 4),
    "dunder-getattr-computed": (NameError, 2),
    "dunder-getattr-escape-string": (NameError, 2),
    "setattr-dunder-class": (NameError, 2),
    "raise-systemexit": (NameError, 2),
    "raise-huge-message": (ValueError, 2),
    "imp-subprocess": (ImportError, 2),
    "imp-importlib": (ImportError, 2),
    "imp-from-os": (ImportError, 2),
    "imp-gc-referrers": (ImportError, 2),
    "vars-dir-plugin": (NameError, 2),
    "net-metadata-ssrf": (ImportError, 2),
    "recursion-deep": (RecursionError, 3),
    "secrets-environ": (ImportError, 2),
    "cheat-write-nested-v": (TypeError, 2),  # the write guard refuses a tuple; nested data must be read-only
    "cheat-replace-plugin": (TypeError, 2),  # p is a dict subclass, which the write guard refuses
    "cheat-huge-trade": (SimulationError, 2),  # the real dex refuses
    "cheat-bool-trade": (SimulationError, 2),
    "cheat-poison-module": (TypeError, 2),
    "random-seed-shared": (NameError, 2),  # there is no shared random module
    "cyrillic-homoglyph-eval": (NameError, 2),
}
# Run without error in this layer: the process layer's result validation refuses what they return or write
# (cheat-balance-in-r: keys outside the player's schema are ignored there).
RUN_HERE = {
    "ret-nan",
    "ret-neg-inf-in-r",
    "ret-bool",
    "ret-huge-int",
    "ret-cycle",
    "ret-many-keys",
    "cheat-balance-in-r",
}
# CPU and memory bombs: compile and load here, never called in-process; the process layer stops them.
NOT_CALLED = {
    "loop-infinite",
    "loop-finally",
    "recursion-retry-exponential",
    "mem-str-mul",
    "mem-append-loop",
    "mem-catch-memoryerror",
    "cheat-action-flood-swallow",
}


def source(case):
    expand = case.get("expand")
    return expand["prefix"] + expand["unit"] * expand["repeat"] + expand["suffix"] if expand else case["code"]


def load(code, sink=None):
    return load_player(compile_player(code), sink if sink is not None else PrintSink())


def arguments():
    """Stand-ins for one day's (i, v, r, s, p): read-only v with nested tuples, a real dex in a Handles p."""
    v = MappingProxyType({"price": 1.5, "prices": (1.0, 2.0)})
    return 1, v, {}, [{"price": -1.25}, {"price": 2.0}], Handles(dex=Dex("dex", "AI", "USDC", 100.0, 50.0, 0))


def body(text):
    """A player whose fn runs `text` (one statement per line, indented for it)."""
    return "def fn(i, v, r, s, p):\n" + "".join(f"    {line}\n" for line in text.splitlines())


def run(code, sink=None):
    return load(code, sink)(*arguments())


def test_every_case_is_classified_once():
    groups = [set(COMPILE_REFUSALS), set(LOAD_REFUSALS), set(CALL_FAILURES), RUN_HERE, NOT_CALLED]
    assert sum(len(group) for group in groups) == len(CASES)
    assert set().union(*groups) == set(CASES)
    assert set(COMPILE_REFUSALS) == {key for key, case in CASES.items() if case["expected"] == "rejected_at_compile"}


@pytest.mark.parametrize("case_id", sorted(COMPILE_REFUSALS))
def test_cases_refused_at_compile(case_id):
    with pytest.raises(PolicyError) as refused:
        compile_player(source(CASES[case_id]))
    assert refused.value.line == COMPILE_REFUSALS[case_id]
    assert 0 < len(refused.value.message) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize("case_id", sorted(LOAD_REFUSALS))
def test_cases_refused_at_load(case_id):
    kind, line = LOAD_REFUSALS[case_id]
    compiled = compile_player(source(CASES[case_id]))
    with pytest.raises(kind) as refused:
        load_player(compiled, PrintSink())
    assert (refused.value.line if kind is PolicyError else player_line(refused.value)) == line


@pytest.mark.parametrize("case_id", sorted(CALL_FAILURES))
def test_cases_that_fail_when_called(case_id):
    kind, line = CALL_FAILURES[case_id]
    with pytest.raises(kind) as failed:
        run(source(CASES[case_id]))
    assert player_line(failed.value) == line


@pytest.mark.parametrize("case_id", sorted(NOT_CALLED))
def test_bombs_compile_and_load(case_id):
    assert callable(load(source(CASES[case_id])))


@pytest.mark.parametrize("case_id", sorted(RUN_HERE))
def test_cases_left_to_result_validation_run_here(case_id):
    run(source(CASES[case_id]))


def test_result_cases_return_what_they_wrote():
    assert math.isnan(run(source(CASES["ret-nan"])))
    assert run(source(CASES["ret-bool"])) is True
    _, v, r, s, p = arguments()
    load(source(CASES["ret-huge-int"]))(1, v, r, s, p)
    assert r == {"x": 10**400}


CONTROL_RESULTS = {
    "ok-basic": (0, {"day": 1}),
    "ok-augassign": (0.75, {"avg": 0.375}),
    "ok-unpack-starargs": (0, {"1": 2, "3": 4, "m": 3}),
    "ok-trade": (1.5, {}),
    "ok-helpers": (pytest.approx(0.3 * 2.0 + 0.7 * -1.25), {"ema": pytest.approx(-0.275)}),
    "ok-lambda-sorted": (3, {"xs": [3, 2, 1]}),
    "ok-common-builtins": (3.25, {"lo": 1.25, "hi": 2.0, "n": 2, "w": {"0": 1.25, "1": 2.0}}),
    "ok-print-debug": (0, {}),
    "ok-state-across-days": (0, {"count": 1}),
}


@pytest.mark.parametrize("control_id", sorted(CONTROLS))
def test_controls_run(control_id):
    i, v, r, s, p = arguments()
    returned = load(CONTROLS[control_id]["code"])(i, v, r, s, p)
    assert (returned, r) == CONTROL_RESULTS[control_id]


def test_control_trades_reach_the_real_pool():
    _, v, r, s, p = arguments()
    load(CONTROLS["ok-trade"]["code"])(1, v, r, s, p)
    assert p["dex"].v["la"] == 90.0
    fn = load(CONTROLS["ok-state-across-days"]["code"])
    for day in range(1, 5):
        fn(day, v, r, s, p)
    assert r["count"] == 4
    assert p["dex"].v["la"] == 91.0  # sold 1 on the fourth day only


def test_control_print_is_captured():
    sink = PrintSink()
    run(CONTROLS["ok-print-debug"]["code"], sink)
    assert sink.text == "day 1 1.5\n"
    assert not sink.truncated


@pytest.mark.parametrize(
    "expression",
    [
        "().__class__.__bases__[0]",
        "r.__class__",
        "fn.__globals__",
        "p.dex.buyA.__self__",
        "[].__class__.__mro__",
        "(lambda: 0).__code__",
        "__builtins__",
        "_getattr_",
    ],
)
def test_dunder_walks_are_refused_at_compile(expression):
    with pytest.raises(PolicyError, match='starts with "_"') as refused:
        compile_player(body(f"x = 1\nreturn {expression}"))
    assert refused.value.line == 3


UNREACHABLE = [
    "getattr", "setattr", "delattr", "hasattr", "vars", "dir", "globals", "locals", "open", "eval", "exec", "compile",
    "type", "object", "super", "input", "help", "id", "hash", "issubclass", "complex", "memoryview", "bytes",
    "SystemExit", "KeyboardInterrupt", "BaseException", "GeneratorExit", "MemoryError", "OSError", "random", "string",
]  # fmt: skip


@pytest.mark.parametrize("name", UNREACHABLE)
def test_dangerous_names_are_unreachable(name):
    assert name not in player_globals(PrintSink())["__builtins__"]
    with pytest.raises(NameError, match=name):
        run(body(f"return {name}"))


@pytest.mark.parametrize(("code", "reason"), [("breakpoint()", "reserved"), ("eval('1')", "Eval calls")])
def test_reserved_calls_are_refused_at_compile(code, reason):
    with pytest.raises(PolicyError, match=reason):
        compile_player(body(code))


def test_builtins_are_exactly_the_allow_list():
    expected = {
        *("None", "False", "True", "Ellipsis", "abs", "bool", "callable", "chr", "divmod", "float", "hex", "int"),
        *("isinstance", "len", "oct", "ord", "range", "repr", "round", "slice", "str", "min", "max", "sum"),
        *("enumerate", "zip", "sorted", "reversed", "any", "all", "map", "filter", "list", "dict", "set"),
        *("frozenset", "tuple", "math", "pow", "__import__"),
        *("ArithmeticError", "AssertionError", "AttributeError", "Exception", "FloatingPointError", "ImportError"),
        *("IndexError", "KeyError", "LookupError", "NameError", "NotImplementedError", "OverflowError"),
        *("RuntimeError", "StopIteration", "TypeError", "UnboundLocalError", "ValueError", "ZeroDivisionError"),
    }
    assert set(player_globals(PrintSink())["__builtins__"]) == expected


def test_class_statements_are_refused_with_their_line():
    with pytest.raises(PolicyError, match="class statements are not allowed") as refused:
        compile_player("x = 1\nclass Box:\n    pass\ndef fn(i, v, r, s, p):\n    return 0\n")
    assert refused.value.line == 2


def test_class_mro_would_reach_object_and_is_refused():
    with pytest.raises(AttributeError, match="mro"):
        run(body("return int.mro()"))


@pytest.mark.parametrize("expression", ["'{0}'.format(1)", "'{x}'.format_map({'x': 1})", "str.format('{0}', 1)"])
def test_str_format_is_refused(expression):
    with pytest.raises(NotImplementedError):
        run(body(f"return {expression}"))


def test_generator_frames_are_refused():
    with pytest.raises(PolicyError, match="gi_frame"):
        compile_player(body("def g():\n    yield 1\nreturn g().gi_frame"))
    generator = body("def g():\n    yield 1\nreturn g().gi_running")  # a harmless generator attribute still works
    assert run(generator) is False


def test_import_gives_the_vetted_math_and_nothing_else():
    assert run(body("import math as m\nreturn m.sqrt(16.0)")) == 4.0
    assert run(body("from math import floor, pi\nreturn floor(pi)")) == 3
    with pytest.raises(ImportError):
        run(body("from math import factorial"))
    with pytest.raises(ImportError, match="only math"):
        run(body("import os.path"))
    with pytest.raises(ImportError, match="only math"):
        run(body("from . import x"))


def test_math_is_vetted_and_read_only():
    assert run(body("return math.log(math.e) + math.floor(2.7) + math.tanh(0.0)")) == 3.0
    for unbounded in ("factorial", "comb", "perm", "prod", "gcd", "lcm", "isqrt"):
        assert not hasattr(MATH, unbounded)
    with pytest.raises(TypeError):
        run(body("math.pi = 3"))
    with pytest.raises(AttributeError, match="read-only"):
        MATH.floor = lambda x: 0
    assert MATH.floor(2.5) == 2


@pytest.mark.parametrize("target", ["fn", "p.dex", "len", "ValueError"])
def test_attribute_writes_on_non_containers_are_refused(target):
    with pytest.raises(TypeError):
        run(body(f"{target}.fee = 0"))


def test_inplace_operators_on_numbers_strings_and_containers():
    code = body(
        "n = 2\nn += 3\nn *= 4\nn -= 1\nn //= 2\nn **= 3\nn %= 1000\n"
        "f = 1.0\nf /= 4\nt = 'a'\nt += 'b'\nxs = [1]\nxs += [2]\nxs *= 2\n"
        "u = {1}\nu |= {2}\nd = {'a': 1}\nd |= {'b': 2}\nk = (1,)\nk += (2,)\n"
        "return [n, f, t, xs, u, d, k]"
    )
    n = (((2 + 3) * 4 - 1) // 2) ** 3 % 1000
    assert run(code) == [n, 0.25, "ab", [1, 2, 1, 2], {1, 2}, {"a": 1, "b": 2}, (1, 2)]


def test_inplace_operators_refuse_other_objects_and_unbounded_powers():
    with pytest.raises(TypeError, match="not on Dex"):
        run(body("d = p.dex\nd += 1"))
    with pytest.raises(ValueError, match=str(MAX_POW_BITS)):
        run(body("n = 10\nn **= 10 ** 6"))
    assert run(body("return pow(2, 10) + pow(2.0, -1)")) == 1024.5


def test_star_arguments_go_through_apply():
    assert run(body("def f(a, b=0, **kw):\n    return a + b + len(kw)\nreturn f(*[1], **{'b': 2, 'c': 3})")) == 4


@pytest.mark.parametrize(("limit", "kept"), [(9, "é 0\né 1"), (6, "é 0\n"), (10, "é 0\né 1\n")])
def test_print_is_capped_in_bytes(limit, kept):
    sink = PrintSink(limit)
    run(body("for k in range(100):\n    print('é', k)"), sink)  # each line is 5 bytes: 'é' takes 2
    assert sink.text == kept  # a cut never splits a character and nothing after a cut is kept
    assert sink.truncated


def test_print_to_a_file_is_refused_and_printed_reads_the_output():
    with pytest.raises(TypeError, match="file"):
        run(body("print('x', file=r)"))
    sink = PrintSink()
    assert run(body("print('a', end='')\nprint('b', sep='-', flush=True)\nreturn printed"), sink) == "ab\n"


def test_compile_error_lines_and_messages():
    with pytest.raises(PolicyError) as refused:
        compile_player("def fn(i, v, r, s, p):\n    x = 1\n    return x +\n")
    assert refused.value.line == 3
    assert str(refused.value).startswith("line 3: SyntaxError")
    with pytest.raises(PolicyError) as refused:
        compile_player("def fn(i, v, r, s, p):\n    return 0\nreturn 1\n")  # found by compile(), not the parser
    assert (refused.value.line, refused.value.message) == (3, "SyntaxError: 'return' outside function")
    with pytest.raises(PolicyError) as refused:
        compile_player("x = (" + "1" * 60_000 + "\n")
    assert len(refused.value.message) <= MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("x = '\ud800'\n", "UnicodeEncodeError"),
        ("x = " + "+".join(["1"] * 30_000) + "\n", "nested too deeply"),
        ("x = " + "-" * 30_000 + "1\n", "nested too deeply"),
    ],
)
def test_any_compiler_exception_becomes_a_policy_error(code, reason):
    with pytest.raises(PolicyError, match=reason):
        compile_player(code)


def test_runtime_error_line_is_the_innermost_player_frame():
    fn = load("def helper(x):\n    return 1 / x\n\ndef fn(i, v, r, s, p):\n    return helper(0)\n")
    with pytest.raises(ZeroDivisionError) as failed:
        fn(*arguments())
    assert player_line(failed.value) == 2
    try:
        raise SimulationError("player 'evolved' failed on day 1") from failed.value
    except SimulationError as wrapped:
        assert player_line(wrapped) == 2
    assert player_line(ValueError("never raised by a player")) is None


def test_size_cap_counts_bytes_not_characters():
    code = body("return 0") + "# " + "é" * 40 + "\n"
    size = len(code.encode("utf-8"))
    assert len(code) < size - 1
    assert callable(load_player(compile_player(code, max_source_bytes=size), PrintSink()))
    with pytest.raises(PolicyError, match=f"{size} bytes"):
        compile_player(code, max_source_bytes=size - 1)


def test_fn_must_be_a_function_of_five_arguments():
    for code in ("x = 1\n", "fn = None\n", "fn = len\n", "fn = pow\n"):
        with pytest.raises(PolicyError) as refused:
            load(code)
        assert str(refused.value) == "the code must define a function fn(i, v, r, s, p)"
    with pytest.raises(PolicyError, match=r"fn\(i, v, r, s, p, q\) cannot be called") as refused:
        load("\n\ndef fn(i, v, r, s, p, q):\n    return 0\n")
    assert refused.value.line == 3
    assert load("fn = lambda i, v, r, s, p: i")(*arguments()) == 1
    assert load("def fn(*args):\n    return len(args)\n")(*arguments()) == 5


def test_globals_are_not_shared_between_players():
    counter = "count = 0\nlen = None\ndef fn(i, v, r, s, p):\n    global count\n    count += 1\n    return count\n"
    first, second = load(counter), load(counter)
    assert [first(*arguments()), first(*arguments()), second(*arguments())] == [1, 2, 1]
    with pytest.raises(NameError, match="count"):
        run(body("return count"))
    assert run(body("return len([1, 2])")) == 2  # the first player's `len = None` stayed in its own globals
    assert player_globals(PrintSink())["__builtins__"] is not player_globals(PrintSink())["__builtins__"]
