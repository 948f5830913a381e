"""Variables: resolution, memoising, cycles, errors that name the variable, overrides, and AI3's forms."""

import copy
import types
from typing import Any

import pytest

import simcore
from simcore import Variable, VariableError, compute, var
from simcore.variables import as_variable


def definitions(raw: dict[str, Any]) -> dict[str, Variable]:
    return {key: as_variable(key, spec) for key, spec in raw.items()}


def test_a_shared_function_runs_once_per_computation(make_scenario):
    calls: list[int] = []

    def base(g):
        calls.append(1)
        return 10

    raw = {"base": base, "a": lambda g: g("base") + 1, "b": lambda g: g("base") * g("a"), "c": lambda g: g("b")}
    assert compute(definitions(raw)) == {"base": 10, "a": 11, "b": 110, "c": 110}
    assert len(calls) == 1
    calls.clear()
    simcore.simulate(make_scenario(vars=raw), years=0.01)
    assert len(calls) == 1  # for v; nvars keeps it (`compute_before`): formulas are functions of g and r alone


def test_values_after_the_run_are_computed_anew_where_the_run_could_change_them(make_scenario):
    calls: list[str] = []

    raw = {
        "a": lambda g: calls.append("a") or 2,
        "out": lambda g, r: calls.append("out") or r["x"],
        "from_out": lambda g: calls.append("from_out") or g("out") + g("a"),
    }
    result = simcore.simulate(make_scenario(vars=raw, before=lambda v: {"x": 5}), years=0.01)
    assert (result.v, result.nvars) == ({"a": 2, "out": None, "from_out": None}, {"a": 2, "out": 5, "from_out": 7})
    assert calls == ["a", "out", "from_out", "out", "from_out"]  # `a` once; `out`, unknown before, read `r` first

    peeking = {  # known before the run, though given `r`: nothing from before is kept
        "flag": lambda g, r: r["x"] if isinstance(r, dict) else 5,
        "twice": lambda g: g("flag") * 2,
    }
    result = simcore.simulate(make_scenario(vars=peeking, before=lambda v: {"x": 1}), years=0.01)
    assert (result.v, result.nvars) == ({"flag": 5, "twice": 10}, {"flag": 1, "twice": 2})
    fixed = simcore.simulate(make_scenario(vars=peeking, before=lambda v: {"x": 1}), years=0.01, overrides={"twice": 3})
    assert (fixed.v, fixed.nvars) == ({"flag": 5, "twice": 3}, {"flag": 1, "twice": 3})


@pytest.mark.parametrize(
    ("raw", "cycle"),
    [
        ({"a": lambda g: g("b"), "b": lambda g: g("a")}, "a -> b -> a"),
        ({"a": lambda g: g("a") + 1}, "a -> a"),
        (
            {"x": lambda g: g("a"), "a": lambda g: g("b"), "b": lambda g: g("c"), "c": lambda g: g("a")},
            "a -> b -> c -> a",
        ),
    ],
)
def test_a_cycle_is_named(raw, cycle):
    with pytest.raises(VariableError, match=f"variable cycle: {cycle}$"):
        compute(definitions(raw))


def test_an_unknown_name_names_the_asker_and_the_unknown():
    raw = {"price": lambda g: g("supplyy") * 2, "supply": 5}
    with pytest.raises(VariableError, match=r"variable 'price' asks for unknown variable 'supplyy'.*supply"):
        compute(definitions(raw))


def test_a_failing_function_names_its_variable():
    with pytest.raises(VariableError, match=r"variable 'ratio' failed: ZeroDivisionError"):
        compute(definitions({"zero": 0, "ratio": lambda g: 1 / g("zero")}))


def test_a_failure_inside_a_nested_variable_names_the_innermost():
    raw = {"outer": lambda g: g("middle") + 1, "middle": lambda g: g("inner") * 2, "inner": lambda g: int("x")}
    with pytest.raises(VariableError, match=r"variable 'inner' failed: ValueError"):
        compute(definitions(raw))


def test_a_state_variable_and_its_dependents_are_none_before_the_run():
    raw = {
        "ail": lambda g, r: r["ai"],
        "double": lambda g: g("ail") * 2,
        "more": lambda g: g("double") + g("k"),
        "k": 3,
    }
    assert compute(definitions(raw)) == {"ail": None, "double": None, "more": None, "k": 3}
    assert compute(definitions(raw), {"ai": 5}) == {"ail": 5, "double": 10, "more": 13, "k": 3}


def test_a_missing_state_key_after_the_run_names_the_variable(make_scenario):
    scenario = make_scenario(vars={"gone": {"name": "Gone", "val": lambda g, r: r["missing"]}})
    with pytest.raises(VariableError, match=r"variable 'gone' failed: KeyError: 'missing'"):
        simcore.simulate(scenario, years=0.01)


def test_overrides_leave_the_definitions_untouched():
    module = types.ModuleType("pair", "A pair.")
    module.vars = {
        "base": {"name": "Base", "val": 2},
        "scaled": {"name": "Scaled", "val": lambda g: g("base") * 10},
        "typed": var(7, "Typed"),
    }
    module.before = lambda v: {"n": v["scaled"]}
    pristine = copy.deepcopy(module.vars)  # functions are copied by reference, so == compares them by identity
    scenario = simcore.load_scenario(module)
    variables = dict(scenario.variables)

    overridden = simcore.simulate(scenario, years=0.01, overrides={"base": 3, "typed": 8})
    assert overridden.nvars == {"base": 3, "scaled": 30, "typed": 8}
    assert overridden.res["n"] == 30
    assert module.vars == pristine
    assert dict(scenario.variables) == variables
    assert simcore.simulate(scenario, years=0.01).nvars == {"base": 2, "scaled": 20, "typed": 7}


def test_an_unknown_override_suggests_the_close_name():
    with pytest.raises(VariableError, match=r"unknown variable 'iusdc' \(did you mean iusdcl"):
        simcore.simulate("ai3_quickstart", overrides={"iusdc": 20})


def test_typed_and_bare_forms_resolve_alike(make_scenario):
    scenario = make_scenario(
        vars={
            "typed": var(100, "Initial $AI", "Liquidity at launch", type="AI"),
            "bare": 50,
            "fn": lambda g: g("typed") / g("bare"),
            "state": var(lambda g, r: r["i"] * g("fn"), "Days x ratio"),
        }
    )
    typed = scenario.variables["typed"]
    assert (typed.name, typed.desc, typed.display) == ("Initial $AI", "Liquidity at launch", {"type": "AI"})
    assert scenario.variables["state"].reads_state
    assert not scenario.variables["fn"].reads_state
    result = simcore.simulate(scenario, years=0.01)
    assert result.v == {"typed": 100, "bare": 50, "fn": 2, "state": None}
    assert result.nvars == {"typed": 100, "bare": 50, "fn": 2, "state": 8}


def test_ai3_title_and_plugins_entries_are_understood():
    scenario = simcore.load_scenario("ai3_plugins")
    assert scenario.title == "$AI Token"
    assert set(scenario.plugins) == {"ai", "dex"}
    assert not {"__title__", "__plugins__"} & set(scenario.variables)
    assert {"ai_its", "ai_p", "ai_ts", "ai_fdv", "dex_ai_il", "dex_usdc_l", "dex_k", "dex_usdc_p"} <= set(
        scenario.variables
    )


def test_a_user_definition_of_a_generated_variable_wins(make_scenario):
    scenario = make_scenario(
        vars={
            "dex_ai_il": {"name": "My $AI liquidity", "val": 200},
            "dex_k": {"name": "My K", "val": 1},
            "__plugins__": {
                "dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50}
            },
        }
    )
    assert scenario.variables["dex_ai_il"].name == "My $AI liquidity"
    result = simcore.simulate(scenario, years=0.01)
    assert result.nvars["dex_k"] == 1
    assert result.res["dex"]["la"] == 200  # the pool is built from the user's value
    assert result.res["dex"]["k"] == 200 * 50


def test_a_formula_is_computed_the_same_whether_what_it_asks_for_is_known_yet_or_not():
    def guarded(g):  # a formula that catches errors of its own: asking for one not computed yet is none of them
        try:
            return g("later") + g("missing_ok")
        except (KeyError, LookupError, Exception):
            return -1

    raw = {
        "early": lambda g: g("later") * 2,  # asks for a variable declared after it
        "guarded": guarded,
        "later": lambda g: g("base") + 1,
        "base": 10,
        "missing_ok": lambda g: g("base") - 10,
        "out": lambda g, r: r["x"],
        "from_out": lambda g: g("out") + g("base"),
    }
    defs = definitions(raw)
    before = compute(defs)
    assert before == {"early": 22, "guarded": 11, "later": 11, "base": 10, "missing_ok": 0, "out": None,
                      "from_out": None}  # fmt: skip
    assert compute(defs, {"x": 5}) == {**before, "out": 5, "from_out": 15}
    assert compute(defs, {"x": 5}, known={"base": 20}) == {"early": 42, "guarded": 31, "later": 21, "base": 20,
                                                           "missing_ok": 10, "out": 5, "from_out": 25}  # fmt: skip
    with pytest.raises(VariableError, match="variable 'out' failed: KeyError: 'x'"):
        compute(defs, {"y": 1})
