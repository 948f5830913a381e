"""`evolver simulate` and `evolver scenarios` for a built-in netlist (TokenSPICE's wsloop), through the real CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from test_cli import invoke, ok

GOLDEN = Path(__file__).parents[1] / "simcore" / "data" / "wsloop-golden-10d.csv"


def test_simulate_wsloop_writes_tokenspices_own_10_day_run(tmp_path) -> None:
    out = tmp_path / "wsloop.csv"
    result = ok("simulate", "wsloop", "--csv", out)
    assert "wsloop: 10 days in" in result.output and "11 days logged" in result.output
    ours, golden = pd.read_csv(out), pd.read_csv(GOLDEN)
    assert list(ours.columns) == list(golden.columns) and len(ours) == len(golden) == 11
    for column in golden.columns:
        for mine, theirs in zip(ours[column], golden[column], strict=True):
            assert (mine == theirs) if math.isinf(theirs) or theirs == 0 else math.isclose(mine, theirs, rel_tol=1e-9)


def test_simulate_wsloop_for_years_shows_a_dozen_days_and_writes_every_day(tmp_path) -> None:
    paths = {"--json": tmp_path / "w.json", "--plot": tmp_path / "w.png"}
    result = ok("simulate", "wsloop", "--years", "1", *(str(x) for pair in paths.items() for x in pair))
    rows = json.loads(paths["--json"].read_text())["rows"]
    assert len(rows) == 366 and rows[-1]["Day"] == 365 and rows[0]["ocean_rev_growth/mo"] is None  # inf: null
    assert rows[-1]["tot_OCEAN_supply"] == pytest.approx(
        690.9e6 + rows[-1]["tot_OCEAN_minted"] - rows[-1]["tot_OCEAN_burned"]
    )
    days = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    assert len(days) == 12 and days[0] == "0" and days[-1] == "365"
    assert paths["--plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--set", "x=1"), "--set"),
        (("--seed", "3"), "--seed"),
        (("--runs", "5"), "--runs"),
        (("--player", "p.py", "--seed", "1"), "--player, --seed"),
        (("--years", "-1"), "at least 0; got -1"),
        (("--years", "nan"), "at least 0; got nan"),
    ],
)
def test_options_a_netlist_has_no_use_for_are_refused_by_name(tmp_path, args, named) -> None:
    out = tmp_path / "never.csv"
    result = invoke("simulate", "wsloop", *args, "--csv", out)
    assert result.exit_code == 2 and named in result.output and not out.exists()


def test_scenarios_lists_the_netlists() -> None:
    row = next(line for line in ok("scenarios").output.splitlines() if "wsloop" in line)
    assert "(netlist)" in row
