"""fuzz: case generation, winner rules, and the same answer from any number of workers."""

import math
import types

import pytest

import simcore
from simcore import SimulationError, Span, fuzz, make_cases


def scenario(**attrs):
    module = types.ModuleType("fuzz_test_scenario", "A test scenario.")
    module.__dict__.update(attrs)
    return simcore.load_scenario(module)


ABS = scenario(vars={"x": 0, "y": lambda g: abs(g("x")), "nan": lambda g: math.nan if g("x") == 0 else g("x")})


def test_grid_runs_every_combination_with_the_first_variable_outermost():
    cases = make_cases({"a": range(1, 3), "b": [10, 20, 30]})
    assert cases == [{"a": a, "b": b} for a in (1, 2) for b in (10, 20, 30)]


def test_span_excludes_stop_and_does_not_drift():
    values = Span(0, 1, 0.1).values()
    assert len(values) == 10
    assert values == [k * 0.1 for k in range(10)]  # by index: no accumulated error
    assert Span(0, 0.3, 0.1).values() == [0, 0.1, 0.2]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (lambda: Span(1, 0, 0.1), "start < stop"),
        (lambda: Span(0, 1, -1), "positive step"),
        (lambda: Span(0, math.inf, 1), "finite"),
        (lambda: make_cases({"a": Span(0, 1)}), "needs a step"),
        (lambda: make_cases({"a": []}), "no values"),
        (lambda: make_cases({}), "at least one"),
        (lambda: make_cases({"a": range(3)}, "sobol", 4), "unknown sampling"),
        (lambda: make_cases({"a": range(3)}, "random"), "number of samples"),
    ],
)
def test_bad_case_specs_are_named(spec, message):
    with pytest.raises(SimulationError, match=message):
        spec()


@pytest.mark.parametrize("sample", ["random", "lhs"])
def test_sampling_is_seeded_and_stays_in_range(sample):
    cases = {"a": Span(10, 20), "b": range(5), "c": ["x", "y"]}
    first = make_cases(cases, sample, 50, seed=3)
    assert first == make_cases(cases, sample, 50, seed=3)
    assert first != make_cases(cases, sample, 50, seed=4)
    assert len(first) == 50
    assert all(10 <= c["a"] < 20 and c["b"] in range(5) and c["c"] in ("x", "y") for c in first)


def test_latin_hypercube_puts_one_sample_in_each_stratum():
    n = 40
    cases = make_cases({"a": Span(0, 1), "b": Span(-5, 5)}, "lhs", n, seed=11)
    assert sorted(math.floor(c["a"] * n) for c in cases) == list(range(n))
    assert sorted(math.floor((c["b"] + 5) / 10 * n) for c in cases) == list(range(n))


def test_ties_keep_the_earliest_case_and_min_max_are_strict():
    result = fuzz(ABS, {"x": [-2, -1, 0, 1, 2]}, {"y": "max", "x": "min"})
    assert result.winners["y"].case == {"x": -2} and result.winners["y"].index == 0
    assert result.winners["x"].value == -2
    assert fuzz(ABS, {"x": [1, -1, 0, 2, -2]}, {"y": "min"}).winners["y"].case == {"x": 0}


def test_nan_never_beats_a_number():
    assert fuzz(ABS, {"x": [0, 3, 5, 4]}, {"nan": "max"}).winners["nan"].value == 5
    assert fuzz(ABS, {"x": [0, -3, 1]}, {"nan": "min"}).winners["nan"].value == -3


def test_a_find_function_gets_the_real_current_winner():
    seen = []

    def closest_to_one(current, new, nvars, res):
        seen.append((current, new))
        return abs(new - 1) < abs(current - 1)

    result = fuzz(ABS, {"x": [5, 3, 0, 2, 1, -4]}, {"y": closest_to_one})
    assert result.winners["y"].value == 1
    assert seen == [(5, 3), (3, 0), (0, 2), (0, 1), (1, 4)]


def test_the_table_has_a_row_per_case_with_the_case_and_outcomes():
    result = fuzz("ai3_quickstart", {"iusdcl": range(20, 30), "iail": [80, 100]}, {"aip": "max"})
    table = result.table
    assert len(table) == 20 and list(table.columns[:2]) == ["iusdcl", "iail"]
    assert table.loc[0, "iusdcl"] == 20 and table.loc[1, "iail"] == 100
    best = table["aip"].idxmax()
    assert result.winners["aip"].index == best
    assert result.to_dict()["cases"][best]["aip"] == result.winners["aip"].value


def test_ai3_readme_manual_fuzz_loop():
    result = fuzz("ai3_quickstart", {"iusdcl": range(10, 101)}, {"aip": "max"}, years=1)
    winner = result.winners["aip"]
    assert winner.case == {"iusdcl": 25}
    assert winner.value == pytest.approx(1.131733816206428, rel=1e-9)
    assert math.floor(winner.value * 100) / 100 == 1.13
    assert winner.nvars["iusdcl"] == 25 and winner.res["ai"] == winner.nvars["ail"]


def test_two_workers_return_exactly_what_one_returns():
    args = ("ai3_quickstart", {"iusdcl": range(10, 60), "iail": range(50, 60)}, {"aip": "max", "diff": "min"})
    one, two = fuzz(*args, workers=1), fuzz(*args, workers=2)
    assert one.rows == two.rows and one.winners == two.winners
    assert one.table.equals(two.table)


def test_progress_is_reported_up_to_the_total():
    calls = []
    fuzz(
        "ai3_quickstart",
        {"iusdcl": range(10, 50)},
        {"aip": "max"},
        workers=2,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (40, 40) and all(t == 40 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_bad_inputs_are_named():
    with pytest.raises(SimulationError, match="unknown variable 'nope'"):
        fuzz("ai3_quickstart", {"nope": range(3)}, {"aip": "max"})
    with pytest.raises(SimulationError, match=r"unknown variable 'api'.*aip"):
        fuzz("ai3_quickstart", {"iusdcl": range(3)}, {"api": "max"})
    with pytest.raises(SimulationError, match="expected 'max', 'min' or a function"):
        fuzz("ai3_quickstart", {"iusdcl": range(3)}, {"aip": "biggest"})
    with pytest.raises(SimulationError, match="workers must be"):
        fuzz("ai3_quickstart", {"iusdcl": range(3)}, {"aip": "max"}, workers=0)


def test_a_failing_case_in_a_worker_is_reported_as_a_simulation_error():
    def crash_on_three(i, v, r, s, p):
        if v["x"] == 3:
            raise ValueError("three is bad")

    crashing = scenario(vars={"x": 0}, players=[{"key": "CRASH", "fn": crash_on_three}])
    with pytest.raises(SimulationError, match="player 'CRASH' failed on day 1: ValueError: three is bad"):
        fuzz(crashing, {"x": range(6)}, {"x": "max"}, workers=2)
