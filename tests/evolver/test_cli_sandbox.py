"""`evolver evaluate` and `evolver simulate --player`: player files run through the real sandbox (child processes)."""

import csv
import re
from pathlib import Path

import pytest
from test_cli import invoke, png_size, strict_json, table_row  # the CLI tests' helpers (tests/evolver is on the path)

from evolver.report import PRINTED_LINES

SCENARIO = "ai3_plugins"  # AI3's quick-guide pair (BUYER, SELLER) with a slot: a 50 USDC wallet, comp usdc (max)

# Buys 10 $AI on day 1 and sells them on day 2. The player trades last each day, on a pool of 100 $AI and
# 50 $USDC (k = 5000), so its trades are computable by hand:
# day 1: BUYER buys 10 (90 $AI left), the player buys 10: 80 $AI, paying 5000/80 - 5000/90 USDC;
# day 2: BUYER buys 10 (70 left; the price 71.43/70 > 1), SELLER sells 7 (77), the player sells 10: 87 $AI.
ROUND_TRIP = """\
def fn(i, v, r, s, p):
    if i == 1:
        p.dex.buyA(10)
    if i == 2:
        print("selling on day", i)
        p.dex.sellA(v["wallet"]["AI"])
"""
AFTER_DAY_1 = 50 - (5000 / 80 - 5000 / 90)
ROUND_TRIP_USDC = AFTER_DAY_1 + (5000 / 77 - 5000 / 87)

FAILS_ON_LINE_3 = """\
def fn(i, v, r, s, p):
    x = i - 5
    return 1 / x
"""


def write(tmp_path: Path, code: str, name: str = "player.py") -> Path:
    path = tmp_path / name
    path.write_text(code)
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as file:
        return list(csv.DictReader(file))


def test_evaluate_shows_the_score_and_metrics_and_writes_json(tmp_path: Path):
    json_path = tmp_path / "eval.json"
    result = invoke("evaluate", SCENARIO, write(tmp_path, ROUND_TRIP), "--json", json_path)
    assert result.exit_code == 0, result.output
    assert f"ok: score {ROUND_TRIP_USDC:.4f} (comp: usdc, max)" in result.stdout
    assert table_row(result.stdout, "usdc")[1] == f"{ROUND_TRIP_USDC:.4f}"
    assert table_row(result.stdout, "actions")[1] == "2"
    assert "the player printed:\nselling on day 2\n" in result.stdout
    data = strict_json(json_path)
    assert (data["scenario"], data["comp"], data["direction"], data["status"]) == (SCENARIO, "usdc", "max", "ok")
    assert data["score"] == pytest.approx(ROUND_TRIP_USDC, rel=1e-12)
    assert data["metrics"]["usdc"] == data["score"]
    assert data["metrics"]["ai"] == 0
    assert data["seeds"] == [0] and len(data["per_seed"]) == 1
    assert "detail" not in data  # only simulate --player asks the sandbox for the run's stats


def test_evaluate_on_several_seeds_shows_each_seed(tmp_path: Path):
    json_path = tmp_path / "eval.json"
    result = invoke(
        "evaluate", SCENARIO, write(tmp_path, ROUND_TRIP), "--seed", "3", "--seed", "8", "--json", json_path
    )
    assert result.exit_code == 0, result.output
    assert table_row(result.stdout, "metric") == ["metric", "mean", "seed 3", "seed 8"]
    assert table_row(result.stdout, "usdc")[1:] == [f"{ROUND_TRIP_USDC:.4f}"] * 3  # the scenario has no randomness
    data = strict_json(json_path)
    assert data["seeds"] == [3, 8]
    assert [run["usdc"] for run in data["per_seed"]] == [pytest.approx(ROUND_TRIP_USDC, rel=1e-12)] * 2


def test_evaluate_years_limits_the_run(tmp_path: Path):
    result = invoke("evaluate", SCENARIO, write(tmp_path, ROUND_TRIP), "--years", "0.002")  # 1 day: never sells
    assert result.exit_code == 0, result.output
    assert table_row(result.stdout, "usdc")[1] == f"{AFTER_DAY_1:.4f}"
    assert table_row(result.stdout, "ai")[1] == "10"


def test_evaluate_a_runtime_error_exits_1_with_the_players_line(tmp_path: Path):
    json_path = tmp_path / "eval.json"
    result = invoke("evaluate", SCENARIO, write(tmp_path, FAILS_ON_LINE_3), "--json", json_path)
    assert result.exit_code == 1, result.output
    outcome = result.stdout.strip().splitlines()[-1]
    assert outcome.startswith("runtime_error: line 3: ")
    assert "day 5" in outcome and "ZeroDivisionError" in outcome
    assert "metric" not in result.stdout  # no metrics table for a failed player
    data = strict_json(json_path)
    assert (data["status"], data["line"], data["score"]) == ("runtime_error", 3, None)


def test_evaluate_a_syntax_error_is_a_compile_error(tmp_path: Path):
    result = invoke("evaluate", SCENARIO, write(tmp_path, "def fn(i, v, r, s, p)\n    pass\n"))
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("compile_error: line 1: SyntaxError")
    assert "line 1: line 1" not in result.stdout  # the line is named once


@pytest.mark.parametrize(
    "code",
    [
        "import os\ndef fn(i, v, r, s, p):\n    os.system('true')\n",
        "def fn(i, v, r, s, p):\n    open('/etc/passwd').read()\n",
        "def fn(i, v, r, s, p):\n    ().__class__.__base__.__subclasses__()\n",
    ],
    ids=["import-os", "open-file", "subclasses"],
)
def test_evaluate_a_hostile_player_fails_with_exit_1(tmp_path: Path, code: str):
    result = invoke("evaluate", SCENARIO, write(tmp_path, code))
    assert result.exit_code == 1, result.output
    assert re.match(r"(compile_error|runtime_error): line \d: ", result.stdout), result.stdout
    assert "Traceback" not in result.output


def test_evaluate_shows_what_the_player_printed_cut_short_and_escaped(tmp_path: Path):
    code = 'def fn(i, v, r, s, p):\n    print("\\x1b[2Jday", i)\n'
    result = invoke("evaluate", SCENARIO, write(tmp_path, code), "--years", "0.1")  # 37 days, a line each
    assert result.exit_code == 0, result.output
    printed = result.stdout.split("the player printed:\n")[1].splitlines()
    assert printed[:2] == ["\\x1b[2Jday 1", "\\x1b[2Jday 2"]  # the escape sequence shown, not sent to the terminal
    assert printed[PRINTED_LINES - 1] == f"\\x1b[2Jday {PRINTED_LINES}"
    assert printed[PRINTED_LINES] == "… cut short: 37 lines in all; --json writes the whole text"
    assert "\x1b" not in result.stdout


def test_simulate_player_shows_the_run_and_writes_csv_json_and_a_chart(tmp_path: Path):
    csv_path, json_path, plot = tmp_path / "run.csv", tmp_path / "run.json", tmp_path / "run.png"
    player = write(tmp_path, ROUND_TRIP)
    result = invoke("simulate", SCENARIO, "--player", player, "--csv", csv_path, "--json", json_path, "--plot", plot)
    assert result.exit_code == 0, result.output
    assert table_row(result.stdout, "iaip") == ["iaip", "Initial $AI Price", "0.5", "0.5"]
    assert table_row(result.stdout, "dex_ai_il")[2:] == ["100", "100"]
    assert f"ok: score {ROUND_TRIP_USDC:.4f} (comp: usdc, max)" in result.stdout
    for path in (csv_path, json_path, plot):
        assert f"wrote {path}" in result.stderr

    rows = csv_rows(csv_path)
    assert len(rows) == 366
    assert [float(rows[day]["player.USDC"]) for day in (0, 1)] == [50, pytest.approx(AFTER_DAY_1, rel=1e-12)]
    assert float(rows[-1]["player.USDC"]) == pytest.approx(ROUND_TRIP_USDC, rel=1e-12)
    assert [float(rows[day]["player.AI"]) for day in (0, 1, 2)] == [0, 10, 0]
    assert float(rows[2]["dex.la"]) == 87  # 100 - 10 - 10 - 10 + 7 + 10, as traded above

    data = strict_json(json_path)
    assert (data["status"], data["score"]) == ("ok", pytest.approx(ROUND_TRIP_USDC, rel=1e-12))
    stats = data["detail"]["stats"]
    assert len(stats) == 366
    assert stats[1]["player"]["AI"] == 10
    assert data["detail"]["v"]["iaip"] == 0.5

    bare = tmp_path / "bare.png"
    assert invoke("simulate", SCENARIO, "--plot", bare).exit_code == 0
    assert png_size(bare) == (900, 600)  # the scenario's two graphs, 300 px a panel
    assert png_size(plot) == (900, 1200)  # and the slot's markets and the player's wallet below them


def test_simulate_a_failing_player_exits_1_and_writes_only_the_json(tmp_path: Path):
    csv_path, json_path = tmp_path / "run.csv", tmp_path / "run.json"
    result = invoke("simulate", SCENARIO, "--player", write(tmp_path, FAILS_ON_LINE_3), "--csv", csv_path,
                    "--json", json_path)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("runtime_error: line 3: ")  # no variables table
    assert not csv_path.exists()
    data = strict_json(json_path)
    assert (data["status"], data["line"]) == ("runtime_error", 3)
    assert "detail" not in data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "nope", "{player}"], "unknown scenario 'nope'"),
        (["evaluate", "ai3_quickstart", "{player}"], "'ai3_quickstart' has no slot"),
        (["evaluate", SCENARIO, "{tmp}/missing.py"], "cannot read the player file"),
        (["evaluate", SCENARIO, "{tmp}"], "cannot read the player file"),
        (["evaluate", SCENARIO, "{player}", "--seed", "-1"], "seeds must be whole numbers >= 0"),
        (["evaluate", SCENARIO, "{player}", "--years", "-1"], "years must be a finite number >= 0"),
        (["evaluate", SCENARIO, "{player}", "--json", "{tmp}/missing/eval.json"], "missing does not exist"),
        (["simulate", "ai3_quickstart", "--player", "{player}"], "'ai3_quickstart' has no slot"),
        (["simulate", SCENARIO, "--player", "{player}", "--runs", "3"], "leave out --runs"),
        (["simulate", SCENARIO, "--player", "{player}", "--set", "iaip=1"], "--set cannot be used with --player"),
        (["simulate", SCENARIO, "--player", "{player}", "--plot", "{tmp}/missing/run.png"], "missing does not exist"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str):
    player = write(tmp_path, ROUND_TRIP)
    result = invoke(*(arg.format(player=player, tmp=tmp_path) for arg in args))
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    (line,) = result.stderr.splitlines()  # one line, so no traceback
    assert line.startswith("error: ") and message in line, line
