"""The `evolver` CLI: AI3's quick-guide numbers through every command, the files it writes, and its errors."""

import csv
import math
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from outputs import png_size, strict_json, table_row
from typer.testing import CliRunner

import simcore
from evolver.cli import app
from evolver.report import format_number
from evolver.store import Store

# AI3's published numbers (shared/reference/ai3-public-cases.md, cases 1 and 2)
AI3_DAY_1 = {"i": 1, "price": 0.6172839506172839, "ai": 90, "usdc": 55.55555555555556, "total_buy": 10}
AI3_BEST_IUSDCL, AI3_BEST_AIP = 25, 1.131733816206428

# a scenario with no graphs: a counter `n`, its half, and two variables JSON cannot hold as they are
NO_GRAPHS = '''"""Counts days; declares no graphs."""
vars = {
    "n": {"name": "Days Counted", "val": lambda g, r: r["n"]},
    "ratio": {"name": "Undefined Ratio", "val": float("nan")},
    "pair": {"name": "A Pair", "val": (1, 2)},
}


def before(v):
    return {"n": 0, "half": 0.0}


def count(i, v, r, s, p):
    r["n"] += 1
    r["half"] = r["n"] / 2


players = [{"key": "COUNTER", "fn": count}]
'''

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: str | Path):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def no_graphs(tmp_path: Path) -> Path:
    path = tmp_path / "no_graphs.py"
    path.write_text(NO_GRAPHS)
    return path


def test_scenarios_lists_the_builtins_with_their_descriptions():
    output = ok("scenarios").stdout
    for name in simcore.builtin_names():
        assert table_row(output, name)
    assert "AI3's README quick guide" in table_row(output, "ai3_quickstart")[1]


def test_simulate_prints_every_variable_before_and_after_the_run():
    output = ok("simulate", "ai3_quickstart").stdout
    assert table_row(output, "ail") == ["ail", "$AI Liquidity", "—", "71"]
    assert table_row(output, "iaip") == ["iaip", "Initial $AI Price", "0.5", "0.5"]
    assert table_row(output, "usdcl")[3] == "70.4225"  # 70.4225352112676 to six significant digits
    assert table_row(output, "buy")[3] == "2570"


def test_simulate_writes_json_and_csv_of_the_run(tmp_path: Path):
    json_path, csv_path = tmp_path / "run.json", tmp_path / "run.csv"
    result = ok("simulate", "ai3_quickstart", "--json", json_path, "--csv", csv_path)
    assert f"wrote {json_path}" in result.stderr
    data = strict_json(json_path)
    assert set(data) == {"nvars", "res", "stats"}
    assert data["nvars"]["ail"] == 71
    assert data["nvars"]["aip"] == pytest.approx(0.991866693116445, rel=1e-9)
    assert len(data["stats"]) == 366
    assert data["stats"][1] == {**AI3_DAY_1, "total_sell": 0, "buy": 10}
    with csv_path.open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 366
    assert [int(row["i"]) for row in rows] == list(range(366))
    assert float(rows[1]["price"]) == pytest.approx(AI3_DAY_1["price"], rel=1e-12)
    assert int(rows[-1]["ai"]) == 71
    assert rows[0]["buy"] == ""  # no buy on day 0: an empty cell, not "nan"


def test_simulate_with_set_overrides_a_variable(tmp_path: Path):
    json_path = tmp_path / "run.json"
    output = ok("simulate", "ai3_quickstart", "--set", f"iusdcl={AI3_BEST_IUSDCL}", "--json", json_path).stdout
    assert table_row(output, "iusdcl")[2:] == ["25", "25"]
    assert table_row(output, "aip")[3] == "1.13173"
    nvars = strict_json(json_path)["nvars"]
    assert nvars["iusdcl"] == 25 and isinstance(nvars["iusdcl"], int)
    assert nvars["aip"] == pytest.approx(AI3_BEST_AIP, rel=1e-9)


def test_simulate_years_runs_that_many_days(tmp_path: Path):
    json_path = tmp_path / "run.json"
    ok("simulate", "ai3_quickstart", "--years", "0.5", "--json", json_path)
    data = strict_json(json_path)
    assert len(data["stats"]) == 184  # 183 days, as AI3 steps while step < 365 * 0.5
    assert data["nvars"]["ail"] == 77


def test_plot_draws_one_panel_per_graph(tmp_path: Path):
    path = tmp_path / "chart.png"
    ok("simulate", "ai3_quickstart", "--plot", path)
    assert png_size(path) == (900, 600)  # 9 x 3 inches a panel at 100 dpi; the scenario has two graphs
    assert path.stat().st_size > 20_000  # lines were drawn, not an empty canvas


def test_plot_falls_back_to_every_numeric_column_and_json_is_strict(tmp_path: Path, no_graphs: Path):
    plot, json_path = tmp_path / "chart.png", tmp_path / "run.json"
    output = ok("simulate", no_graphs, "--plot", plot, "--json", json_path).stdout
    assert png_size(plot) == (900, 600)  # panels for `n` and `half`; the day `i` is the x axis
    assert strict_json(json_path)["nvars"] == {"n": 365, "ratio": None, "pair": [1, 2]}
    assert table_row(output, "n")[3] == "365"
    assert table_row(output, "ratio")[3] == "nan"


def test_fuzz_finds_the_readme_best_liquidity(tmp_path: Path):
    json_path, csv_path = tmp_path / "fuzz.json", tmp_path / "fuzz.csv"
    output = ok("fuzz", "ai3_quickstart", "--case", "iusdcl=10:101", "--find", "aip=max", "--json", json_path,
                "--csv", csv_path).stdout  # fmt: skip
    assert table_row(output, "aip") == ["aip", "max", "1.13173", "iusdcl=25"]
    data = strict_json(json_path)
    assert data["winners"]["aip"]["case"] == {"iusdcl": AI3_BEST_IUSDCL}
    assert data["winners"]["aip"]["value"] == pytest.approx(AI3_BEST_AIP, rel=1e-9)
    assert len(data["cases"]) == 91
    assert [case["iusdcl"] for case in data["cases"]] == list(range(10, 101))
    with csv_path.open() as file:
        rows = list(csv.DictReader(file))
    assert [int(row["case"]) for row in rows] == list(range(91))
    assert float(rows[15]["aip"]) == pytest.approx(AI3_BEST_AIP, rel=1e-9)  # case 15 is iusdcl = 25


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        ("20:30:5", [20, 25]),
        ("24:26:0.5", [24.0, 24.5, 25.0, 25.5]),
        ("30,25,40", [30, 25, 40]),
    ],
)
def test_fuzz_case_forms(tmp_path: Path, spec: str, values: list[float]):
    json_path = tmp_path / "fuzz.json"
    ok("fuzz", "ai3_quickstart", "--case", f"iusdcl={spec}", "--find", "aip=max", "--json", json_path)
    data = strict_json(json_path)
    assert [case["iusdcl"] for case in data["cases"]] == values
    assert data["winners"]["aip"]["case"] == {"iusdcl": 25}  # in every list, 25 is the README's best


def test_fuzz_samples_a_stepless_float_range(tmp_path: Path):
    json_path = tmp_path / "fuzz.json"
    ok("fuzz", "ai3_quickstart", "--case", "iusdcl=20.5:30", "--find", "aip=max", "--sample", "lhs",
       "--samples", "8", "--json", json_path)  # fmt: skip
    drawn = sorted(case["iusdcl"] for case in strict_json(json_path)["cases"])
    assert len(drawn) == 8
    assert all(20.5 + 9.5 * k / 8 <= x < 20.5 + 9.5 * (k + 1) / 8 for k, x in enumerate(drawn))  # one per stratum


def test_monte_carlo_prints_a_summary_and_writes_every_run(tmp_path: Path):
    json_path, csv_path = tmp_path / "mc.json", tmp_path / "mc.csv"
    output = ok("simulate", "ai3_quickstart", "--runs", "3", "--seed", "1", "--json", json_path, "--csv",
                csv_path).stdout  # fmt: skip
    assert table_row(output, "variable")[1:4] == ["mean", "std", "min"]
    assert table_row(output, "ail")[1:3] == ["71", "0"]  # no randomness in this scenario: every run alike
    data = strict_json(json_path)
    assert [run["run"] for run in data["runs"]] == [0, 1, 2]
    assert all(run["nvars"]["ail"] == 71 for run in data["runs"])
    assert len({run["seed"] for run in data["runs"]}) == 3
    assert data["summary"]["aip"]["mean"] == pytest.approx(0.991866693116445, rel=1e-9)
    with csv_path.open() as file:
        assert [row["ail"] for row in csv.DictReader(file)] == ["71"] * 3


def test_monte_carlo_run_k_is_the_single_run_with_its_seed(tmp_path: Path):
    json_path = tmp_path / "mc.json"
    ok("simulate", "orderbook", "--runs", "2", "--seed", "7", "--years", "0.1", "--json", json_path)
    for run in strict_json(json_path)["runs"]:
        single = tmp_path / f"run{run['run']}.json"
        ok("simulate", "orderbook", "--seed", str(run["seed"]), "--years", "0.1", "--json", single)
        assert run["nvars"] == strict_json(single)["nvars"]


BAD_SCENARIO = 'x = 1\nraise ValueError("no such market")\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "nope"], "unknown scenario 'nope'"),
        (["simulate", "{bad}"], "raised ValueError at line 2: no such market"),
        (["simulate", "ai3_quickstart", "--set", "foo=1"], "unknown variable 'foo'"),
        (["simulate", "ai3_quickstart", "--set", "iusdcl"], "--set 'iusdcl': expected VAR=NUMBER"),
        (["simulate", "ai3_quickstart", "--set", "iusdcl=abc"], "--set iusdcl=abc: 'abc' is not a number"),
        (["simulate", "ai3_quickstart", "--runs", "0"], "runs must be a whole number >= 1"),
        (["simulate", "ai3_quickstart", "--json", "{tmp}/missing/run.json"], "missing does not exist"),
        (["fuzz", "ai3_quickstart", "--case", "iusdcl=10", "--find", "aip=max"], "--case iusdcl=10: expected"),
        (["fuzz", "ai3_quickstart", "--case", "iusdcl=a:b", "--find", "aip=max"], "'a' is not a number"),
        (["fuzz", "ai3_quickstart", "--case", "iusdcl=0.5:2", "--find", "aip=max"], "0.5:2 needs a step"),
        (["fuzz", "ai3_quickstart", "--case", "iusdcl=10:101", "--find", "foo=max"], "unknown variable 'foo'"),
        (["fuzz", "ai3_quickstart", "--case", "iusdcl=10:101", "--find", "aip=most"], "expected max or min"),
        (
            ["fuzz", "ai3_quickstart", "--case", "iusdcl=10:20", "--sample", "lhs", "--find", "aip=max"],
            "--sample lhs needs --samples",
        ),
        # no silent success: each of these once ran and said nothing of what was wrong
        (["fuzz", "ai3_quickstart", "--case", "iusdcl=10:20"], "--find VAR=max|min says what to search for"),
        (["simulate", "ai3_quickstart", "--set", "aip=3"], "'aip' is computed from the run's results"),
        (["simulate", "ai3_quickstart", "--years", "1000000"], "years must be at most 1,000"),
        (["simulate", "ai3_quickstart", "--json", "-"], "cannot write to `-`"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str):
    bad = tmp_path / "bad.py"
    bad.write_text(BAD_SCENARIO)
    result = invoke(*(arg.format(bad=bad, tmp=tmp_path) for arg in args))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not result.stdout


@pytest.mark.parametrize(
    ("value", "text"),
    [(71, "71"), (70.4225352112676, "70.4225"), (0.5, "0.5"), (2570.0, "2570"), (1234567.89, "1234568"),
     (0.00012345, "0.00012345"), (math.inf, "inf"), (None, "—"), ("AI", "AI")],
)  # fmt: skip
def test_format_number(value, text: str):
    assert format_number(value) == text


@pytest.mark.integration
def test_installed_console_script_simulates():
    script = Path(sys.executable).parent / "evolver"
    done = subprocess.run([script, "simulate", "ai3_quickstart"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert table_row(done.stdout, "ail")[3] == "71"


# The first hour: help that reads well, one value per flag, a version


def test_the_version_and_the_short_help():
    assert ok("--version").output.strip() == f"evolver {metadata.version('evolver')}"
    assert ok("-h").output == ok("--help").output
    assert "evolve [OPTIONS] SCENARIO" in ok("evolve", "-h").output


def test_the_help_groups_every_command_and_reads_as_click_does():
    top = ok("--help").output
    for group, commands in {
        "Simulation": ("scenarios", "simulate", "evaluate", "fuzz"),
        "Evolution": ("evolve", "tournament", "jobs", "lineage", "show", "export"),
        "Service": ("serve", "status", "watch", "resume", "db"),
    }.items():
        assert group in top and all(re.search(rf"│ {command}\b", top) for command in commands), group
    evolve = ok("evolve", "--help").output
    assert "evolve [OPTIONS] SCENARIO" in evolve and "{" not in evolve
    assert "--queue" in evolve and "--no-queue" in evolve and "<bool>" not in evolve and "<int>" not in evolve
    assert re.search(r"--generations\s+INT", evolve) and re.search(r"--seed\s+INT", evolve)
    assert "<str>" not in evolve and "evaluate [OPTIONS] SCENARIO PLAYER" in ok("evaluate", "--help").output
    assert "export [OPTIONS] [CANDIDATE_ID]" in ok("export", "--help").output  # an optional argument in brackets


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evolve", "ai3_plugins", "--search-seed", "-1"], "--search-seed: Input should be greater than or equal to 0"),
        (["evolve", "ai3_plugins", "--seed", "-1"], "--seed: Input should be greater than or equal to 0"),
        (
            ["evolve", "ai3_plugins", "--model", "local:gp", "--model", "local:gp"],
            "each model is given once; repeated: local:gp",
        ),
    ],
)
def test_a_bad_job_option_is_named_as_the_user_wrote_it(tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'options.db'}")
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["evolve", "ai3_plugins", "--generations", "2", "--generations", "3"],
        ["evolve", "ai3_plugins", "--search-seed", "1", "--search-seed=2"],
        ["simulate", "ai3_quickstart", "--seed", "1", "--seed", "2"],
    ],
)
def test_a_flag_that_takes_one_value_refuses_a_second(args):
    result = invoke(*args)
    assert result.exit_code == 2 and "it takes one value; it was given 2 times" in result.output


def test_seed_means_a_simulation_seed_in_every_command(tmp_path, monkeypatch):
    """`--seed`: the simulated runs' seeds (scored on, in evolve and tournament); `--search-seed`: the proposals'."""
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'seeds.db'}")
    ok("evolve", "ai3_plugins", "--generations", "1", "--seed", "3", "--seed", "5", "--search-seed", "9")
    ok("tournament", "ai3_plugins", "--model", "local:gp", "--model", "local:random", "--rounds", "1",
       "--attempts", "1", "--seed", "3", "--search-seed", "9")  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'seeds.db'}")
    for job_id, seeds in ((1, [3, 5]), (2, [3])):
        job = store.job(job_id)
        assert job.budget["seeds"] == seeds and job.seed == 9
