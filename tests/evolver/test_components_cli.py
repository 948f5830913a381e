"""`evolver components`: the component library as a user lists it, and the components scenarios compose as `scenarios`,
`fuzz` and Monte Carlo show and range over them, through the real CLI."""

from __future__ import annotations

import json
import re

import pytest
from test_cli import invoke, ok

from simcore.components import COMPONENTS, SigmoidBondingCurve


def test_components_lists_every_kind_with_its_version_hash_and_bounds(tmp_path) -> None:
    out = tmp_path / "components.json"
    result = ok("components", "--json", out)
    listed = {entry["name"]: entry for entry in json.loads(out.read_text())}
    assert set(listed) == set(COMPONENTS) >= {"bonding_curve", "vesting", "minting_schedule", "weighted_pool"}
    for kind, cls in COMPONENTS.items():
        entry = listed[kind]
        assert entry["hash"] == cls.content_hash() and re.fullmatch(r"[0-9a-f]{16}", entry["hash"])
        assert entry["version"] == cls.version and set(entry["parameters"]) == set(cls.model_fields)
        assert kind in result.output and entry["hash"] in result.output
    assert "duration=4 in (0, 10000]" in result.output  # an excluded end is shown open
    assert "exponent=1 in [0, 10]" in result.output


def test_scenarios_show_the_components_each_composes(tmp_path) -> None:
    ref = SigmoidBondingCurve().ref()
    out = tmp_path / "scenarios.json"
    result = ok("scenarios", "--json", out)
    assert f"bond: {ref}" in result.stdout
    listed = {entry["name"]: entry for entry in json.loads(out.read_text())["scenarios"]}
    assert listed["bonding_curve"]["components"] == {"bond": ref}
    assert listed["ai3_quickstart"]["components"] == {}


def test_fuzz_ranges_a_bare_case_over_its_component_bounds(tmp_path) -> None:
    out = tmp_path / "fuzz.json"
    args = ("--sample", "lhs", "--samples", "3", "--find", "bond_r=max", "--years", "0.05", "--json", out)
    ok("fuzz", "bonding_curve", "--case", "bond_cap", "--case", "bond_mid=100000:900001:200000", *args)
    cases = json.loads(out.read_text())["cases"]
    assert len({case["bond_cap"] for case in cases}) == 3 and all(0 < case["bond_cap"] <= 1e6 for case in cases)
    assert {case["bond_mid"] for case in cases} <= {100_000, 300_000, 500_000, 700_000, 900_000}


def test_monte_carlo_varies_a_component_parameter_in_every_run(tmp_path) -> None:
    out = tmp_path / "mc.json"
    ok("simulate", "bonding_curve", "--runs", "3", "--vary", "bond_cap", "--years", "0.05", "--json", out)
    caps = [run["nvars"]["bond_cap"] for run in json.loads(out.read_text())["runs"]]
    assert len(set(caps)) == 3 and all(0 < cap <= 1e6 for cap in caps)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fuzz", "bonding_curve", "--case", "bond_cap", "--find", "bond_r=max"], "its bounds (0, 1e+06] have none"),
        (
            ["fuzz", "bonding_curve", "--case", "bond_cap=0:2:0.5", "--find", "bond_r=max"],
            "'bond_cap': 0.0 is outside the bounds of this component parameter, (0, 1e+06]",
        ),
        (
            ["simulate", "bonding_curve", "--runs", "2", "--vary", "bond_b=0.5:2.0"],
            "'bond_b': the range 0.5:2 is outside the bounds of this component parameter, (0, 1]",
        ),
        (
            ["simulate", "bonding_curve", "--runs", "2", "--vary", "spend_max"],
            "'spend_max' is no component's parameter",
        ),
        (["simulate", "bonding_curve", "--vary", "bond_cap"], "--vary draws a variable anew in every run"),
        (["simulate", "wsloop", "--vary", "bond_cap"], "leave out --vary"),
        (["fuzz", "bonding_curve", "--case", "bond_cap", "--case", "bond_cap=1,2", "--find", "x=max"], "given twice"),
    ],
)
def test_ranges_a_component_cannot_take_exit_2_naming_its_bounds(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr and not result.stdout
