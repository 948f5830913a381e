"""The fast path (issue 18) against the general one: the same nvars, res, stats and errors, bit for bit.

`run` inlines a scenario's players into one generated loop (`simcore.inline`) and skips the daily rows when nobody
reads them (`simcore.rows`). The general ("full") path is forced here without a knob: a player wrapped in
`functools.partial` is not a plain function, so it is neither inlined nor taken not to read the rows.
Scenarios that stress one inlining rule each are written as files, so their players have source to read.
"""

import functools
import math
import random
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import simcore
from simcore.coalesce import coalesced
from simcore.engine import run
from simcore.errors import SimulationError
from simcore.fuzz import scalars
from simcore.montecarlo import run_seed
from simcore.seat import house_player
from simcore.source import function_tree
from simcore.variables import compute, realise, with_overrides

SEEDS = (0, 1, 7)
YEARS = 0.03  # 11 days: enough for the day-specific branches below


def full_path(scenario: simcore.Scenario) -> simcore.Scenario:
    """`scenario` with every player wrapped in `functools.partial`: not inlined, and taken to read the rows."""
    players = tuple(replace(player, fn=functools.partial(player.fn)) for player in scenario.players)
    return replace(scenario, players=players)


def difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where `a` and `b` first differ, bit for bit (types all the way down, -0.0 apart from 0.0, NaN equal to NaN,
    mapping keys in order), or None when they are the same."""
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r} != {type(b).__name__} {b!r}"
    if isinstance(a, float):
        equal = (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
        return None if equal else f"{path}: {a!r} != {b!r}"
    if isinstance(a, Mapping):
        if difference(list(a), list(b)):
            return f"{path}: keys {list(a)} != {list(b)}"
        parts = [(a[key], b[key], f"{path}[{key!r}]") for key in a]
    elif isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        parts = [(x, y, f"{path}[{n}]") for n, (x, y) in enumerate(zip(a, b, strict=True))]
    else:
        return None if a == b else f"{path}: {a!r} != {b!r}"
    return next(filter(None, (difference(*part) for part in parts)), None)


def same(a: Any, b: Any) -> bool:
    """Whether `a` and `b` are equal bit for bit (see `difference`)."""
    return difference(a, b) is None


def outcome(scenario: simcore.Scenario, years: float, seed: int, stats: bool) -> dict[str, Any]:
    """What one run gives: its Result's parts, or what it raised (type, message and the cause's type)."""
    try:
        result = run(scenario, scenario.variables, years, seed, stats=stats)
    except Exception as exc:
        return {"error": type(exc), "message": str(exc), "cause": type(exc.__cause__)}
    again = compute(realise(scenario.variables, random.Random(seed)), result.res)  # every formula computed anew
    assert not difference(result.nvars, again), "nvars kept a value from before the run that the run changed"
    return {"v": result.v, "nvars": result.nvars, "res": result.res, "stats": result.stats}


def assert_same_runs(scenario: simcore.Scenario, years: float, seeds: Iterable[int] = SEEDS) -> dict[str, Any]:
    """For each seed the fast path's run equals the full path's, with stats and without; without stats it equals its
    own run with stats but for the stats: day 0 alone, or every row where someone may read them (on the full path, its
    players always may). Returns the last seed's fast outcome with stats."""
    full = full_path(scenario)
    for seed in seeds:
        kept = outcome(scenario, years, seed, stats=True)
        assert not difference(kept, outcome(full, years, seed, stats=True)), f"seed {seed}, stats=True"
        lean = outcome(scenario, years, seed, stats=False)
        general = outcome(full, years, seed, stats=False)
        if "error" not in kept:
            for out, ran in ((lean, scenario), (general, full)):
                rows = kept["stats"] if ran.__dict__["_plan"].rows_read else kept["stats"][:1]
                assert not difference(out.pop("stats"), rows), f"seed {seed}, stats=False"
        assert not difference(lean, general), f"seed {seed}, stats=False"
        assert not difference(lean, {k: x for k, x in kept.items() if k != "stats"}), f"seed {seed}: stats False/True"
    return kept


def compiled(scenario: simcore.Scenario) -> bool:
    """Whether the scenario's runs so far used the compiled loop (all of them, or none: asserted)."""
    used = {loop is not None for loop in scenario.__dict__["_plan"].loops.values()}
    assert len(used) == 1, f"some runs compiled the loop and some did not: {used}"
    return used.pop()


def test_difference_is_strict():
    assert difference({"a": 1}, {"b": 1}) == ": keys ['a'] != ['b']"
    assert same({"a": [1, 2.5, float("nan")]}, {"a": [1, 2.5, float("nan")]})
    assert not same(0.0, -0.0)
    assert not same(1, 1.0)
    assert not same(True, 1)
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same([1], (1,))
    assert difference({"a": [0, 0.0]}, {"a": [0, -0.0]}) == "['a'][1]: 0.0 != -0.0"


# 1. Identity on the built-ins, the AI3 cases, play, fuzz and Monte Carlo


@pytest.mark.parametrize("name", simcore.builtin_names())
def test_every_builtin_runs_the_same_on_both_paths(name):
    scenario = simcore.load_scenario(name)
    assert_same_runs(scenario, min(scenario.years, 0.3))


@pytest.mark.parametrize("name", ["ai3_quickstart", "ai3_plugins"])
def test_the_ai3_pairs_run_a_year_the_same_through_the_compiled_loop(name):
    scenario = simcore.load_scenario(name)
    kept = assert_same_runs(scenario, 1, seeds=(0, 3))
    assert len(kept["stats"]) == 366
    assert kept["nvars"]["buy"] == 2570 and kept["nvars"]["sell"] == 2541  # AI3 cases 1 and 4
    assert kept["nvars"]["diff"] == 0.49186669311644504
    assert compiled(scenario)


def test_the_ai3_manual_fuzz_loop_is_the_same_on_both_paths():
    """AI3 case 2 (a sample of its iusdcl values), through `run_many`'s path: stats=False."""
    scenario = simcore.load_scenario("ai3_quickstart")
    full = full_path(scenario)
    for x in range(10, 101, 15):
        variables = with_overrides(scenario.variables, {"iusdcl": x})
        lean = run(scenario, variables, 1, stats=False)
        general = run(full, variables, 1, stats=True)
        assert not difference((lean.nvars, lean.res, lean.stats), (general.nvars, general.res, general.stats[:1]))


SLOTTED = [name for name in simcore.builtin_names() if simcore.load_scenario(name).slot is not None]


@pytest.mark.parametrize("name", SLOTTED)
def test_play_with_the_house_player_is_repeatable_and_the_same_on_both_paths(name):
    """A seat is a callable object, so a played run takes the general loop: this checks it is repeatable and that the
    background players' form changes nothing."""
    scenario = simcore.load_scenario(name)
    years = min(scenario.years, 0.2)
    fn = house_player(scenario)

    def played(scenario: simcore.Scenario) -> tuple[Any, ...]:
        out = simcore.play(scenario, fn, years, seed=5)
        result, log = out.result, out.log
        return (out.metrics, out.score, out.wallet, out.exact_wallet, out.scratch, result.nvars, result.res,
                result.stats, log.trades, log.refusals, log.rows)  # fmt: skip

    first = played(scenario)
    assert not difference(first, played(scenario))
    assert not difference(first, played(full_path(scenario)))


FUZZES = [
    ("ai3_quickstart", {"iusdcl": range(10, 101, 15), "iail": range(50, 101, 10)}, {"aip": "max", "diff": "min"}, 1),
    ("ai3_plugins", {"dex_ai_il": [80, 100, 120], "dex_usdc_il": [40, 50]}, {"diff": "min", "buy": "max"}, 1),
    ("bonding_curve", {"spend_max": [1_000, 2_000, 3_000]}, {"spent": "max"}, 0.1),
    # random variables set by the cases: not drawn, so the others' draws are the same as with new definitions
    ("hidden_bots", {"buy_size": [5, 9], "dex_ai_il": [80.0, 120.0]}, {"dex_ai_p": "max"}, 0.1),
]


@pytest.mark.parametrize(("name", "cases", "find", "years"), FUZZES, ids=[f[0] for f in FUZZES])
def test_fuzz_is_each_case_run_on_the_full_path(name, cases, find, years):
    scenario = simcore.load_scenario(name)
    full = full_path(scenario)
    fast = simcore.fuzz(scenario, cases, find, years=years, seed=3)
    assert not difference(fast.to_dict(), simcore.fuzz(full, cases, find, years=years, seed=3).to_dict())
    by_case = [run(full, with_overrides(scenario.variables, case), years, 3) for case in fast.cases]
    assert not difference(
        fast.rows, [{**case, **scalars(r.nvars)} for case, r in zip(fast.cases, by_case, strict=True)]
    )
    for winner in fast.winners.values():
        assert not difference((winner.nvars, winner.res), (by_case[winner.index].nvars, by_case[winner.index].res))


def test_a_fuzz_with_a_formula_set_runs_its_cases_on_new_definitions():
    scenario = simcore.load_scenario("ai3_quickstart")
    cases, find = {"iail": [60, 90]}, {"aip": "max"}
    formula = {"iusdcl": lambda g: g("iail") / 2}
    fuzzed = simcore.fuzz(scenario, cases, find, years=0.2, overrides=formula)
    defs = [with_overrides(scenario.variables, {**formula, **case}) for case in fuzzed.cases]
    by_case = [run(full_path(scenario), variables, 0.2) for variables in defs]
    expected = [{**case, **scalars(r.nvars)} for case, r in zip(fuzzed.cases, by_case, strict=True)]
    assert not difference(fuzzed.rows, expected)
    assert [row["iusdcl"] for row in fuzzed.rows] == [30, 45]


MONTE_CARLOS = [
    ("bonding_curve", None, 0.1),
    ("ai3_plugins", {"dex_usdc_il": range(40, 60)}, 0.3),
    ("vc_unlock", None, 0.2),
]


@pytest.mark.parametrize(("name", "vary", "years"), MONTE_CARLOS, ids=[m[0] for m in MONTE_CARLOS])
def test_monte_carlo_is_each_run_on_the_full_path(name, vary, years):
    scenario = simcore.load_scenario(name)
    fast = simcore.monte_carlo(scenario, runs=4, seed=11, years=years, vary=vary)
    full = simcore.monte_carlo(full_path(scenario), runs=4, seed=11, years=years, vary=vary)
    assert not difference((fast.seeds, fast.nvars), (full.seeds, full.nvars))
    if vary is None:
        by_run = [run(full_path(scenario), scenario.variables, years, run_seed(11, k)).nvars for k in range(4)]
        assert not difference(fast.nvars, by_run)


# 2. Hostile and edge players for the inliner

HEADER = '''\
"""A scenario written by test_fast_path."""

vars = {
    "a": {"val": 3},
    "n_out": {"val": lambda g, r: r["n"]},
    "x_out": {"val": lambda g, r: r["x"]},
}


def before(v):
    return {"n": 0, "x": 0.5, "price": 1.0}


def steady(i, v, r, s, p):
    r["price"] = r["price"] * 1.01 + v["a"] / 100
    s[i]["steady"] = r["price"]

'''


def scenario_file(tmp_path: Path, name: str, body: str) -> Path:
    """A scenario file: HEADER (the state n, x, price; the player `steady`), then `body`, which names the players."""
    path = tmp_path / f"fastpath_{name}.py"
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def write_scenario(tmp_path: Path, name: str, body: str) -> simcore.Scenario:
    """The scenario of `scenario_file(tmp_path, name, body)`, loaded."""
    return simcore.load_scenario(scenario_file(tmp_path, name, body))


def player(key: str, fn: str, extra: str = "") -> str:
    """A scenario body: `fn`'s source, whose def names the function `play_` + `key.lower()`, and `extra`, then the
    players `steady` and it."""
    listed = f"[{{'key': 'STEADY', 'fn': steady}}, {{'key': {key!r}, 'fn': play_{key.lower()}}}]"
    return f"{textwrap.dedent(fn)}\n{textwrap.dedent(extra)}\nplayers = {listed}\n"


def case(key: str, body: str, extra: str = "") -> str:
    """A scenario body whose player `key` runs `body` each day (`extra` is more module source)."""
    source = f"def play_{key.lower()}(i, v, r, s, p):\n{textwrap.indent(textwrap.dedent(body), '    ')}"
    return player(key, source, extra)


UNBOUND = "cannot access local variable 'y' where it is not associated with a value"
INLINED = {
    "early_returns": case(
        "EARLY",
        """
        if i % 3 == 0:
            r["n"] += 1
            return
        elif i % 3 == 1:
            s[i]["mark"] = i
            return r["n"] * 2
        else:
            r["x"] += 0.5
        if r["n"] > 2:
            s[i]["late"] = r["price"]
        else:
            return None
        r["x"] = -r["x"]
        """,
    ),
    "loops_without_return": case(
        "LOOPS",
        '''
        """A docstring, a loop with break, continue and else, a while, an annotation and an assert."""
        total: float = 0.0
        for k in range(i % 5):
            if k == 3:
                break
            if k % 2:
                continue
            total += k
        else:
            total -= 0.25
        while total > 1:
            total /= 2
        r["x"], r["price"] = r["price"], r["x"] + total
        assert total >= -1, "never"
        pair = s[i]["pair"] = (r["n"], total)
        r["n"] += len(pair)
        for r["n"] in (r["n"], r["n"] + 1):
            pass
        ''',
    ),
    "with_try_and_imports": case(
        "GUARDED",
        """
        import math
        from operator import mul as times
        with suppress(ZeroDivisionError):
            r["x"] = times(r["x"], 1.5) / (i % 2)
        with nullcontext(i) as day:
            r["n"] += math.floor(math.sqrt(day))
        try:
            r["price"] = r["price"] / (i % 4)
        except ZeroDivisionError:
            r["price"] = -0.0
        finally:
            s[i]["seen"] = True
        if i == 5:
            try:
                return
            finally:
                r["n"] += 100
        """,
        "from contextlib import nullcontext, suppress\n",
    ),
    "zero_division_on_day_3": case("DIVIDER", 'r["x"] = r["x"] + 1 / (3 - i)\n'),
    "missing_variable_on_day_4": case("MISSING", 'if i == 4:\n    r["x"] += v["missing"]\n'),
    "read_only_v_written": case("WRITER", 'if i == 2:\n    v["a"] += 1\n'),
    "name_collisions": """
        total = 100
        x = "module x"


        def first(i, v, r, s, p):
            x = r["x"] + 1
            total = x * 2
            r["x"] = total / 3


        def second(i, v, r, s, p):
            x = r["n"]
            r["n"] = x + total + len(globals()["x"])
            steady = "a local named like a player"
            s[i]["local"] = steady


        players = [{"key": "FIRST", "fn": first}, {"key": "SECOND", "fn": second}, {"key": "STEADY", "fn": steady}]
        """,
    "renamed_parameters": player(
        "RENAMED",
        """
        def play_renamed(day, vv, state, stats, plugins):
            state["n"] += vv["a"] + day
            if day % 2:
                stats[day]["draw"] = plugins.rng.random()
            state["x"] = plugins["rng"].uniform(0, state["price"])
        """,
    ),
    "writes_the_day_keys": case("DAYS", 'r["i"] = 99\ns[i]["i"] = -i\nr["n"] = r["i"] + i\n'),
    "same_fn_twice": """
        def twice(i, v, r, s, p):
            k = r["n"] + 1
            r["n"] = k * 2


        players = [{"key": "ONCE", "fn": twice}, {"key": "TWICE", "fn": twice}]
        """,
    "after_reads_the_first_row": case(
        "PLAIN", 'r["x"] += 1\n', "def after(v, r, s):\n    r['x'] = s[0]['x'] - r['x']\n"
    ),
    "after_reads_the_last_row": case(
        "PLAIN", 'r["x"] += 1\n', "def after(v, r, s):\n    r['n'] = s[-1]['steady'] + len(s)\n"
    ),
    # a local stored to the state: one variable with the state's in the loop only where nothing can tell them apart
    "coalesced": case("MERGED", 'y = r["x"] * 0.5 + r["n"]\ns[i]["y"] = y\nr["x"] = y\nr["price"] += y - r["x"]\n'),
    "coalesced_in_a_loop": case("MERGED", 'for k in range(i % 3):\n    y = r["x"] + k\n    r["x"] = y\nr["n"] += 1\n'),
    "coalesced_then_fails_on_day_3": case("MERGED", 'y = r["x"] + 1\nz = 1 / (i - 3)\nr["x"] = y + z * 0\n'),
    "coalesced_failing_between": case("MERGED", 'y = r["x"] + 1\nz = 1 / (i - 3)\nr["x"] = y\nr["n"] += z\n'),
    "read_between": case("READ", 'y = r["x"] + 1\nz = r["x"] * 2\nr["x"] = y\nr["price"] += z / 100\n'),
    "return_between": case("RETURN", 'y = r["x"] + 1\nif i % 2:\n    return\nr["x"] = y\n'),
    "break_between": case(
        "BREAK", 'for k in range(3):\n    y = r["x"] + k\n    if k == i % 3:\n        break\n    r["x"] = y\n'
    ),
    "continue_between": case(
        "CONTINUE", 'for k in range(3):\n    y = r["x"] + k\n    if k == i % 3:\n        continue\n    r["x"] = y\n'
    ),
    "try_around": case(
        "TRY",
        'try:\n    y = r["x"] + 1\n    z = 1 / (i % 2)\n    r["x"] = y\nexcept ZeroDivisionError:\n    r["n"] += 1\n',
    ),
    "with_around": case(
        "WITH",
        'with suppress(ZeroDivisionError):\n    y = r["x"] + 1\n    z = 1 / (i % 2)\n    r["x"] = y\n',
        "from contextlib import suppress\n",
    ),
    "state_stored_twice": case("TWICE", 'y = r["x"] + 1\nr["x"] = y\nr["x"] += 1\nr["n"] += y\n'),
    "local_assigned_twice": case("TWICE", 'y = r["x"] + 1\nr["x"] = y\ny = 2\nr["n"] += y\n'),
    "local_augmented": case("AUGMENTED", 'y = r["x"] + 1\nr["x"] = y\ny += 1\nr["n"] += y\n'),
    "stored_in_another_block": case("BLOCKS", 'y = r["x"] + 1\nif i % 2:\n    r["x"] = y\nr["n"] += y\n'),
    "stored_before_assigned_in_a_loop": case(
        "LOOPED", 'y = 0.0\nfor k in range(2):\n    r["x"] = y\n    y = r["x"] + k\n'
    ),
}
REFUSED = {
    "return_in_a_loop": case(
        "LOOPED", 'for k in range(3):\n    if k == i % 3:\n        r["n"] += k\n        return\nr["x"] += 1\n'
    ),
    "unbound_local_on_day_3": case("UNBOUND", 'if i < 3:\n    y = i\nr["n"] += y\n'),
    "assigns_its_day": case("SHIFT", 'i = i + 1\nr["n"] += i\n'),
    "augments_its_day": case("SHIFT", 'i += 1\nr["n"] += i\n'),
    "writes_yesterdays_row": case("BACK", 'i = i - 1\ns[i]["back"] = r["price"]\n'),
    "r_get": case("GETTER", 'r["n"] = r.get("n", 0) + 1\n'),
    "r_contains": case("CONTAINS", 'if "n" in r:\n    r["n"] += 1\n'),
    "r_len": case("LENGTH", 'r["n"] += len(r)\n'),
    "r_to_a_helper": case("HELPED", "bump(r)\n", "def bump(state):\n    state['n'] += 1\n"),
    "r_del": case("DELETER", 'if i == 5:\n    del r["x"]\n    r["x"] = 2.0\n'),  # x moves to the end of r
    "r_new_key": case("NEWKEY", 'r["new_key"] = 1\nr["n"] += 1\n'),
    "row_augmented": case("ROWAUG", 's[i]["mark"] = 1\ns[i]["mark"] += 1\n'),
    "row_read": case("ROWREAD", 'r["price"] = s[i - 1]["price"] * 1.01\n'),
    "list_comprehension": case("COMP", 'r["n"] += sum([k for k in range(i)])\n'),
    "generator_expression": case("GENEXP", 'r["n"] += sum(k for k in range(i))\n'),
    "lambda": case("LAMBDA", 'twice = lambda k: k * 2\nr["n"] = twice(r["n"] + 1)\n'),
    "nested_def": case("NESTED", 'def inc(k):\n    return k + 1\nr["n"] = inc(r["n"])\n'),
    "nonlocal": case("NONLOCAL", 'y = 0\ndef bump():\n    nonlocal y\n    y += 1\nbump()\nr["n"] += y\n'),
    "class_in_body": case("CLASS", 'class Box:\n    size = 2\nr["n"] += Box.size\n'),
    "walrus": case("WALRUS", 'if (y := i % 2):\n    r["n"] += y\n'),
    "global": case("GLOBAL", 'global LAST\nLAST = i\nr["n"] += LAST\n', "LAST = 0\n"),
    "except_as": case(
        "EXCEPT", 'try:\n    r["x"] = 1 / (i % 2)\nexcept ZeroDivisionError as e:\n    r["n"] += len(str(e))\n'
    ),
    "locals": case("LOCALS", 'y = i\nr["n"] += len(locals())\n'),
    "eval": case("EVAL", 'r["n"] += eval("1 + 1")\n'),
    "dir": case("DIR", 'y = i\nr["n"] += len(dir())\n'),
    "prefixed_name": case("PREFIXED", '_sc_tmp = i\nr["n"] += _sc_tmp\n'),
    "prefixed_import": case("PREFIXED", 'from math import sqrt as _sc0_sqrt\nr["x"] = _sc0_sqrt(i)\n'),
    "generator_player": case("GENERATOR", 'r["n"] += 1\nyield\n'),
    "keyword_default": player("DEFAULTED", 'def play_defaulted(i, v, r, s, p=None):\n    r["n"] += 1\n'),
    "decorated": player(
        "DECORATED", 'def keep(fn):\n    return fn\n\n\n@keep\ndef play_decorated(i, v, r, s, p):\n    r["n"] += 1\n'
    ),
    "closure": player(
        "CLOSED",
        "def make(k):\n    def fn(i, v, r, s, p):\n        r['n'] += k\n\n    return fn\n",
        "play_closed = make(2)\n",
    ),
    "lambda_player": """
        players = [{"key": "STEADY", "fn": steady}, {"key": "LAMBDA", "fn": lambda i, v, r, s, p: r.update(n=i)}]
        """,
    "players_of_two_modules": """
        from simcore.scenarios.ai3_quickstart import buyer


        def before(v):
            return {"n": 0, "x": 0.5, "price": 0.5, "ai": 100, "usdc": 50, "total_buy": 0}


        players = [{"key": "STEADY", "fn": steady}, {"key": "BUYER", "fn": buyer}]
        """,
}
ERRORS = {  # the cases that fail, and how (the same on both paths, asserted first)
    "zero_division_on_day_3": "player 'DIVIDER' failed on day 3: ZeroDivisionError: division by zero",
    "missing_variable_on_day_4": "player 'MISSING' failed on day 4: KeyError: 'missing'",
    "read_only_v_written": "player 'WRITER' failed on day 2: TypeError: 'mappingproxy' object does not support item "
    "assignment",
    "unbound_local_on_day_3": f"player 'UNBOUND' failed on day 3: UnboundLocalError: {UNBOUND}",
    "coalesced_then_fails_on_day_3": "player 'MERGED' failed on day 3: ZeroDivisionError: division by zero",
    "coalesced_failing_between": "player 'MERGED' failed on day 3: ZeroDivisionError: division by zero",
}


COALESCED = {  # the player's locals that became the state's, {local: key}, for the cases from "coalesced" on
    "coalesced": {"y": "x"},
    "coalesced_in_a_loop": {"y": "x"},
    "coalesced_failing_between": {"y": "x"},
}


def test_a_local_becomes_the_states_only_where_nothing_can_tell_them_apart(tmp_path):
    names = list(INLINED)[list(INLINED).index("coalesced") :]
    for name in names:
        scenario = write_scenario(tmp_path, name, INLINED[name])
        fn = scenario.players[-1].fn
        assert coalesced(function_tree(fn), "r") == COALESCED.get(name, {}), name
    buyer = simcore.load_scenario("ai3_quickstart").players[0].fn
    assert coalesced(function_tree(buyer), "r") == {"usdc": "usdc"}  # not `ai`: r["ai"] is read before its store


ROWS_READ = {  # the cases whose rows are built without stats: someone may read them (`simcore.rows`)
    "after_reads_the_last_row", "augments_its_day", "assigns_its_day", "writes_yesterdays_row", "row_augmented",
    "row_read", "lambda_player", "closure", "decorated",
}  # fmt: skip


@pytest.mark.parametrize(("name", "inlined"), [*((n, True) for n in INLINED), *((n, False) for n in REFUSED)])
def test_a_hostile_player_runs_the_same_inlined_or_refused(tmp_path, name, inlined):
    scenario = write_scenario(tmp_path, name, (INLINED if inlined else REFUSED)[name])
    kept = assert_same_runs(scenario, YEARS)
    assert compiled(scenario) is inlined
    assert scenario.__dict__["_plan"].rows_read is (name in ROWS_READ)
    assert kept.get("message") == ERRORS.get(name)


def test_rows_are_built_without_stats_for_an_after_that_reads_past_day_0(tmp_path):
    last = write_scenario(tmp_path, "after_last", INLINED["after_reads_the_last_row"])
    first = write_scenario(tmp_path, "after_first", INLINED["after_reads_the_first_row"])
    for scenario in (last, first):
        run(scenario, scenario.variables, YEARS, stats=False)
    assert [shape[-1] for shape in last.__dict__["_plan"].loops] == [True]
    assert [shape[-1] for shape in first.__dict__["_plan"].loops] == [False]


def test_a_generator_player_never_runs_its_body(tmp_path):
    scenario = write_scenario(tmp_path, "generator", REFUSED["generator_player"])
    assert run(scenario, scenario.variables, YEARS, stats=False).res["n"] == 0


def test_a_module_global_is_read_when_the_player_runs_on_both_paths(tmp_path):
    """A player's globals are its module's, read at call time: a change between runs shows in the next run."""
    scenario = write_scenario(tmp_path, "global_read", case("SCALED", 'r["x"] = r["x"] + SCALE\n', "SCALE = 1\n"))
    before = assert_same_runs(scenario, YEARS)
    scenario.module.SCALE = 2.5
    after = assert_same_runs(scenario, YEARS)
    assert compiled(scenario)
    days = simcore.day_count(YEARS)
    assert (before["res"]["x"], after["res"]["x"]) == (0.5 + days, 0.5 + 2.5 * days)


ENUM_BEFORE = """
def before(v):
    return {"n": 0, "x": 0.5, "price": 1.0, Key.A: 5}
"""
CALLER = """
def caller():
    return sys._getframe(1).f_code.co_name
"""
FOUND_AND_FIXED = {  # each once a difference between the paths (the reason says how), now the same
    "import_as_the_handles": (
        case("IMPORTER", 'import math as p\nr["x"] = p.sqrt(r["x"] + i)\n'),
        "an import binding a parameter's name (`import math as p`) passes `_check` (it looks at Name targets only): "
        "the inlined body still reads `p` as the plugin handles and fails where the function reads math",
    ),
    "import_as_the_day": (
        case("IMPORTER", 'from math import pi as i\nr["x"] += i\n'),
        "`from math import pi as i` rebinds the day; the inlined body still reads `i` as the day (x off by day - pi)",
    ),
    "module_global_range": (
        case("PLAIN", 'r["n"] += 1\n', "range = (0.8, 1.2)\n"),
        "the generated loop calls `range` and names `Exception`, resolved in the players' module globals: a scenario "
        "defining `range` makes the fast path raise TypeError: 'tuple' object is not callable",
    ),
    "module_global_exception": (
        case("MISSING", 'r["x"] += v["missing"]\n', "Exception = ArithmeticError\n"),
        "the generated loop's `except Exception` is the module's: a KeyError escapes raw, not as a SimulationError",
    ),
    "enum_state_key": (
        case("PLAIN", 'r["n"] += 1\n', "import enum\n\nKey = enum.Enum('Key', 'A')\n" + ENUM_BEFORE),
        "the loop's source writes each state key as `repr(key)`: a key whose repr is not a literal (an Enum member, "
        "float('inf'), float('nan')) makes the fast path raise SyntaxError or NameError",
    ),
}
LIMITS = {  # what the inlined loop does differently, documented in docs/DESIGN.md
    "frame_of_the_caller": (
        case("FRAMED", 'r["x"] += len(caller())\n', "import sys\n" + CALLER),
        "a helper that reads its caller's frame (sys._getframe, inspect.stack) sees the generated loop, not the "
        "player; a recursive helper likewise finds one frame more of room before RecursionError",
    ),
    "frame_reader_renamed": (
        case("LOCALS", 'y = i\nr["n"] += len(names_here())\n', "from builtins import locals as names_here\n"),
        "`_check` refuses the frame readers by name only: `locals` imported under another name (or `builtins.vars()`) "
        "returns the generated loop's locals",
    ),
}


@pytest.mark.parametrize("name", list(FOUND_AND_FIXED))
def test_a_once_different_player_runs_the_same_on_both_paths(tmp_path, name):
    assert_same_runs(write_scenario(tmp_path, name, FOUND_AND_FIXED[name][0]), YEARS)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=reason)) for n, (_, reason) in LIMITS.items()]
)
def test_known_limits_of_the_inlined_loop(tmp_path, name):
    assert_same_runs(write_scenario(tmp_path, name, LIMITS[name][0]), YEARS)


def test_a_player_calling_a_module_imported_at_the_top_is_inlined(tmp_path):
    scenario = write_scenario(tmp_path, "math_call", case("ROOT", 'r["x"] = math.sqrt(r["x"] + i)\n', "import math\n"))
    assert_same_runs(scenario, YEARS)
    assert compiled(scenario)


# 3. Stale source

COUNTER = case("COUNTER", 'r["n"] += 1\n', "def tenfold(i, v, r, s, p):\n    r['n'] += 10\n")
TENFOLD = case("COUNTER", 'r["n"] += 10\n', "def tenfold(i, v, r, s, p):\n    r['n'] += 10\n")


def test_a_player_whose_file_changed_since_loading_is_not_read_and_runs_as_loaded(tmp_path):
    scenario = write_scenario(tmp_path, "stale", COUNTER)
    scenario_file(tmp_path, "stale", TENFOLD)
    assert function_tree(scenario.players[1].fn) is None
    assert function_tree(scenario.players[0].fn) is not None  # `steady`, unchanged
    assert assert_same_runs(scenario, YEARS)["res"]["n"] == simcore.day_count(YEARS)
    assert not compiled(scenario)


def test_a_loop_compiled_before_the_file_changed_keeps_running_as_loaded(tmp_path):
    scenario = write_scenario(tmp_path, "stale", COUNTER)
    before = assert_same_runs(scenario, YEARS)
    assert compiled(scenario)
    scenario_file(tmp_path, "stale", TENFOLD)
    assert not difference(assert_same_runs(scenario, YEARS), before)


def test_load_scenario_is_keyed_by_the_file_content(tmp_path):
    path = scenario_file(tmp_path, "content", COUNTER)
    first = simcore.load_scenario(path)
    assert simcore.load_scenario(path) is first
    scenario_file(tmp_path, "content", TENFOLD)
    second = simcore.load_scenario(path)
    assert second is not first
    assert simcore.load_scenario(path) is second
    days = simcore.day_count(YEARS)
    assert assert_same_runs(second, YEARS)["res"]["n"] == 10 * days
    assert assert_same_runs(first, YEARS)["res"]["n"] == days
    scenario_file(tmp_path, "content", COUNTER)
    assert simcore.load_scenario(path) is first


def test_a_file_edited_from_minus_zero_to_zero_is_not_taken_for_the_loaded_code(tmp_path):
    scenario = write_scenario(tmp_path, "zero", case("ZERO", 'r["x"] = -0.0\n'))
    scenario_file(tmp_path, "zero", case("ZERO", 'r["x"] = 0.0\n'))
    assert assert_same_runs(scenario, YEARS)["res"]["x"] == -0.0
    assert function_tree(scenario.players[1].fn) is None


def test_a_player_whose_code_is_replaced_after_a_run_runs_its_new_code(tmp_path):
    scenario = write_scenario(tmp_path, "swap", COUNTER)
    assert_same_runs(scenario, YEARS)
    scenario.players[1].fn.__code__ = scenario.module.tenfold.__code__
    assert assert_same_runs(scenario, YEARS)["res"]["n"] == 10 * simcore.day_count(YEARS)


# 4. The run's random generator, made only when something may draw from it

RANDOM = {
    "players_draw_some_days": """
        def sometimes(i, v, r, s, p):
            if i % 3 == 0:
                r["x"] += p.rng.random()


        def evens(i, v, r, s, p):
            if i % 2 == 0:
                r["n"] += p["rng"].randint(0, 9)


        players = [steady, sometimes, evens]
        """,
    "random_variable": case(
        "NOISY",
        'r["x"] += v["noise"] * p.rng.random()\n',
        "from simcore import var\n\nvars['noise'] = var(name='Noise', draw=lambda rng: rng.uniform(0, 1))\n",
    ),
    "random_variable_only": case(
        "PLAIN", 'r["x"] += v["noise"]\n', "vars['noise'] = {'draw': lambda rng: rng.uniform(0, 1)}\n"
    ),
    "plugin": case(
        "TOKEN",
        'if i % 4 == 1:\n    r["x"] += p.rng.random() * p.tok.v["ts"]\n',
        "plugins = {'tok': {'type': 'token', 'ticker': 'TOK', 'supply': 10}}\n",
    ),
    "before_draws": case(
        "PLAIN", 'r["x"] += 1\n', "def before(v, p):\n    return {'n': 0, 'x': p.rng.random(), 'price': 1.0}\n"
    ),
    "after_draws": case("PLAIN", 'r["x"] += 1\n', "def after(r, p):\n    r['x'] += p.rng.random()\n"),
}


@pytest.mark.parametrize("name", RANDOM)
def test_the_random_stream_is_the_full_paths(tmp_path, name):
    scenario = write_scenario(tmp_path, name, RANDOM[name])
    xs = {assert_same_runs(scenario, YEARS, seeds=[seed])["res"]["x"] for seed in range(5)}
    assert len(xs) == 5  # every seed its own stream
    assert compiled(scenario)


@pytest.mark.parametrize("name", ["bonding_curve", "vc_unlock", "noisy_market"])
def test_builtins_that_draw_are_the_same_for_many_seeds(name):
    scenario = simcore.load_scenario(name)
    assert_same_runs(scenario, 0.1, seeds=range(2, 8))
    assert any(loop is not None for loop in scenario.__dict__["_plan"].loops.values())


# 5. Formulas known before the run, and the memo of those that are not

MEMO = case(  # formulas that ignore `r`, read it first, or read it or not by a variable
    "PLAIN",
    'r["x"] += 1\n',
    """
    vars["flag"] = {"val": 1}
    vars["double"] = {"val": lambda g, r: g("a") * 2}
    vars["state_first"] = {"val": lambda g, r: r["x"] + g("a")}
    vars["either"] = {"val": lambda g, r: g("a") if g("flag") else r["x"]}
    """,
)


FORMULAS = ("double", "state_first", "either")


def test_formulas_before_the_run_on_repeated_runs(tmp_path):
    scenario = write_scenario(tmp_path, "memo", MEMO)
    full = full_path(scenario)
    for flag in (1, 0, 0, 1, 0):
        result = simcore.simulate(scenario, years=YEARS, overrides={"flag": flag})
        x = result.res["x"]
        assert [result.v[key] for key in FORMULAS] == [6, None, 3 if flag else None]
        assert [result.nvars[key] for key in FORMULAS] == [6, x + 3, 3 if flag else x]
        general = simcore.simulate(full, years=YEARS, overrides={"flag": flag})
        assert not difference((result.v, result.nvars, result.res), (general.v, general.nvars, general.res))
        assert simcore.Simulator(scenario, {"flag": flag}).get("either") == (3 if flag else None)
    memo = {key: scenario.variables[key].unknown_before for key in FORMULAS}
    assert memo == {"double": False, "state_first": True, "either": False}
    assert simcore.simulate(scenario, years=YEARS).v["double"] == 6


FAILING_ENDER = case(
    "COUNTER",
    'r["n"] += 1\n',
    """
from simcore.plugins.base import Plugin, PluginSpec


class Fuse(Plugin):
    def __init__(self, key):
        super().__init__(key)
        self.days = 0

    def state(self):
        return {"days": self.days}

    def end_day(self, day):
        self.days += 1
        if day == 3:
            raise RuntimeError("the fuse blew")


class FuseSpec(PluginSpec):
    kind = "fastpath_fuse"

    def build(self, key, v, p, rng):
        return Fuse(key)

    def variables(self, key):
        return {}


plugins = {"fuse": {"type": "fastpath_fuse"}}
""",
)


def test_a_plugin_failing_at_the_end_of_a_day_is_named_and_no_players_error_on_either_path(tmp_path):
    """The inlined loop has one handler for all its days: an error at a day's end is the plugin's, not a player's."""
    scenario = write_scenario(tmp_path, "fuse", FAILING_ENDER)
    for stats in (True, False):
        for ran in (scenario, full_path(scenario)):
            with pytest.raises(SimulationError, match=r"^plugin 'fuse' failed at the end of day 3: RuntimeError: the "
                               r"fuse blew$") as failed:  # fmt: skip
                run(ran, ran.variables, YEARS, stats=stats)
            assert type(failed.value.__cause__) is RuntimeError
    assert compiled(scenario)
