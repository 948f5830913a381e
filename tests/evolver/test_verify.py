"""`evolver verify` in-process: the design matrix of Ocean Market's designs (with an adversary evolved by a job), the
spec studies on the bonding curve (yield, tail estimate, worst corner, sensitivity), and every bad input refused.

Every number the command prints or writes is checked against `simcore.verification` (or plain simulations) run
directly in the test, never against a table copied from an earlier run.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from outputs import png_size, strict_json, table_row
from typer.testing import CliRunner

import simcore
from evolver.cli import app
from evolver.store import Store
from simcore import verification
from simcore.montecarlo import run_seed
from simcore.seat import play
from simcore.verification.matrix import house_cells
from simcore.verification.spec import Observation

STAKE_SWING = "Avoids large price swings when people just want to stake OCEAN"
EXIT_SCAM = "No risk of exit scam after IDO"
CURVE_SPECS = ("bond.price >= 0.32", "min(bond.price) > 0")
CURVE_YEARS = "0.2"  # 73 days: the end price spreads around 0.3 over the seeds

ONLY_ADVERSARY = '''"""Ocean 1SS judged against an adversary only."""

from simcore.scenarios.ocean_1ss import *  # noqa: F403

criteria = [{"name": "No risk of exit scam after IDO", "spec": "extraction <= 0.1", "judge": "adversary"}]
'''
HOUSE_ONLY = '''"""Ocean 1SS judged on the house's runs only."""

from simcore.scenarios.ocean_1ss import *  # noqa: F403

criteria = [{"name": "Simple", "spec": "mechanisms <= 3"}]
'''


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline, in-process setting: a fresh SQLite store (not yet created), no broker, one sandbox parent."""
    path = tmp_path / "lineage.db"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("EVOLVER_SANDBOX_WORKERS", "1")
    monkeypatch.delenv("EVOLVER_BROKER_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return path


def cells_by_name(design: dict) -> dict[str, dict]:
    return {cell["criterion"]: cell for cell in design["cells"]}


# --- the design matrix ---------------------------------------------------------------------------------------------


def test_the_matrix_of_v3_and_1ss_is_house_cells_shown_and_written(database, tmp_path):
    out, png = tmp_path / "matrix.json", tmp_path / "matrix.png"
    result = ok("verify", "ocean_v3", "ocean_1ss", "--runs", "8", "--json", out, "--chart", png)
    designs = strict_json(out)["matrix"]["designs"]
    assert [d["scenario"] for d in designs] == ["ocean_v3", "ocean_1ss"]
    assert [d["adversary"] for d in designs] == [None, None]
    assert strict_json(out)["matrix"]["pass_rate"] == 0.9

    header = table_row(result.stdout, "criterion")
    assert header == ["criterion", "ocean_v3", "ocean_1ss"]
    for design in designs:
        expected, _ = house_cells(design["scenario"], 8, 0)
        # every cell's runs (seed, KPI, held), verdict, share, interval and median, bit for bit through JSON
        assert design["cells"] == [cell.to_dict(0.9) for cell in expected]
        assert [run["seed"] for run in design["cells"][0]["runs"]] == [run_seed(0, k) for k in range(8)]
        column = header.index(design["scenario"])
        for cell in expected:
            shown = table_row(result.stdout, cell.criterion.name)[column]
            assert shown == cell.text(0.9) and shown[0] in "✓✗"
    names = [c.name for c in simcore.load_scenario("ocean_v3").criteria if c.judge == "house"]
    assert [
        cell["criterion"] for cell in designs[0]["cells"]
    ] == names  # the criteria's order, the adversary's left out
    assert EXIT_SCAM not in result.stdout
    assert "left out without --adversary MODEL: ocean_v3, ocean_1ss" in result.stdout

    # the point of one-sided staking: staking no longer moves the price
    v3, one_sided = (cells_by_name(design)[STAKE_SWING] for design in designs)
    assert not v3["holds"] and one_sided["holds"]
    assert table_row(result.stdout, STAKE_SWING)[1].startswith("✗")
    assert table_row(result.stdout, STAKE_SWING)[2].startswith("✓")

    assert png_size(png)[0] > 0
    assert f"wrote {out}" in result.stderr and f"wrote {png}" in result.stderr
    assert not database.exists()  # no adversary: the store is not touched


def test_pass_rate_only_moves_the_verdicts(database, tmp_path):
    out = tmp_path / "matrix.json"
    ok("verify", "ocean_v3", "--runs", "8", "--pass-rate", "0.1", "--json", out)
    expected, _ = house_cells("ocean_v3", 8, 0)
    assert strict_json(out)["matrix"]["designs"][0]["cells"] == [cell.to_dict(0.1) for cell in expected]
    assert strict_json(out)["matrix"]["pass_rate"] == 0.1


def test_an_evolved_adversary_is_a_stored_job_and_its_row_the_worse_of_its_and_the_houses(database, tmp_path, pool):
    out = tmp_path / "matrix.json"
    runs = 4
    result = ok("verify", "ocean_1ss", "--runs", runs, "--adversary", "local:gp", "--generations", "2", "--json", out)
    (design,) = strict_json(out)["matrix"]["designs"]
    found = design["adversary"]

    store = Store(f"sqlite:///{database}")
    try:
        (job,) = store.jobs()
        best = store.best(job.id, job.direction)
        lineage = store.lineage(job.id)
    finally:
        store.close()
    assert (job.scenario, job.models, job.status, job.kind) == ("ocean_1ss", ("local:gp",), "done", "evolve")
    assert found == {"job": job.id, "candidate": best.id, "score": best.score}
    assert len({c.generation for c in lineage}) == 2  # --generations 2
    assert f"ocean_1ss: adversary job {job.id}, candidate {best.id}" in result.stdout
    assert f"adversary job {job.id} (local:gp, 2 generations)" in result.stderr

    jobs = ok("jobs").stdout
    assert table_row(jobs, str(job.id))[1:6] == ["evolve", "ocean_1ss", "local:gp", "max:value", "done"]
    tree = ok("lineage", str(job.id)).stdout
    assert f"#{best.id} " in tree and "local:gp" in tree

    # the row judged against the adversary: the worse (the larger) of its extraction and the honest publisher's
    cells = cells_by_name(design)
    assert list(cells) == [c.name for c in simcore.load_scenario("ocean_1ss").criteria]  # the slides' order
    scam = cells[EXIT_SCAM]
    seeds = [run["seed"] for run in scam["runs"]]
    assert seeds == [run_seed(0, k) for k in range(runs)] == [r["seed"] for r in cells["Simple"]["runs"]]
    evaluation = pool.evaluate(best.code, "ocean_1ss", seeds)
    assert evaluation.status == "ok", evaluation.error
    scenario = simcore.load_scenario("ocean_1ss")
    house = [play(scenario, scenario.game.reference, None, seed) for seed in seeds]
    assert all(h.metrics["extraction"] == h.result.nvars["extraction"] for h in house)
    worse = [max(a["extraction"], b.metrics["extraction"]) for a, b in zip(evaluation.per_seed, house, strict=True)]
    assert [run["kpi"] for run in scam["runs"]] == worse
    assert [run["held"] for run in scam["runs"]] == [x <= 0.1 for x in worse]
    assert scam["judge"] == "adversary" and scam["spec"] == "extraction <= 0.1"
    mark = "✓" if sum(x <= 0.1 for x in worse) >= 0.9 * runs else "✗"
    assert table_row(result.stdout, EXIT_SCAM)[1].startswith(f"{mark} {sum(x <= 0.1 for x in worse)}/{runs} · ")

    expected, _ = house_cells("ocean_1ss", runs, 0)  # the house's rows are what they are without an adversary
    assert [cells[cell.criterion.name] for cell in expected] == [cell.to_dict(0.9) for cell in expected]


def test_a_design_judged_only_against_an_adversary_gets_its_row(database, tmp_path):
    scenario = tmp_path / "only_adversary.py"
    scenario.write_text(ONLY_ADVERSARY)
    out = tmp_path / "matrix.json"
    result = invoke("verify", scenario, "--runs", "2", "--adversary", "local:gp", "--generations", "1", "--json", out)
    assert result.exit_code == 0, result.output
    (design,) = strict_json(out)["matrix"]["designs"]
    assert [cell["criterion"] for cell in design["cells"]] == [EXIT_SCAM]
    assert [run["seed"] for run in design["cells"][0]["runs"]] == [run_seed(0, k) for k in range(2)]


# --- specs: yield, tail estimate, worst corner, sensitivity --------------------------------------------------------


def spec_args(*more: str | Path) -> list[str | Path]:
    return ["verify", "bonding_curve", *(x for s in CURVE_SPECS for x in ("--spec", s)), "--years", CURVE_YEARS, *more]


def test_spec_yield_is_monte_carlo_yield(database, tmp_path):
    out, png = tmp_path / "yield.json", tmp_path / "yield.png"
    result = ok(*spec_args("--runs", "20", "--seed", "3", "--json", out, "--chart", png))
    data = strict_json(out)
    assert list(data) == ["yield"]
    expected = verification.monte_carlo_yield("bonding_curve", CURVE_SPECS, 20, 3, float(CURVE_YEARS))
    assert data["yield"] == expected.to_dict()
    found = data["yield"]
    assert 0 < found["passes"] < 20 and found["passes"] + found["failures"] == 20  # the threshold splits the seeds
    low, high = found["interval"]
    assert low < found["yield"] < high
    assert [run["seed"] for run in found["per_run"]] == [run_seed(3, k) for k in range(20)]
    assert table_row(result.stdout, "passes")[1] == str(expected.passes)
    assert table_row(result.stdout, "failures")[1] == str(expected.failures)
    assert table_row(result.stdout, "specs")[1] == ", ".join(CURVE_SPECS)
    assert png_size(png)[0] > 0
    assert not database.exists()


def test_spec_rare_is_the_tail_estimate(database, tmp_path):
    out = tmp_path / "rare.json"
    spec = CURVE_SPECS[0]  # alone: the two specs' least margin has a heavy tail whose 200 bootstrap fits take 10 s
    result = ok("verify", "bonding_curve", "--spec", spec, "--years", CURVE_YEARS, "--runs", "36", "--rare",
                "--json", out)  # fmt: skip
    data = strict_json(out)
    assert list(data) == ["rare"]
    expected = verification.rare_event("bonding_curve", spec, 36, 0, float(CURVE_YEARS))
    assert data["rare"] == expected.to_dict()
    assert data["rare"]["runs"] == 36 and data["rare"]["seeds"] == [run_seed(0, k) for k in range(36)]
    assert data["rare"]["method"] in ("transformed-normal", "pareto-tail", "counted")  # what its model check chose
    assert table_row(result.stdout, "method")[1] == expected.method
    assert table_row(result.stdout, "exceedances")[1] == str(expected.exceedances)


def test_the_worst_corner_found_is_the_worst_of_all_corners(database, tmp_path):
    levels = {"bond_mid": [300000.0, 500000.0, 700000.0], "bond_b": [5e-06, 1e-05, 2e-05], "sell_max": [0.5, 1.0, 1.5]}
    corners = [f"--corner={name}=" + ",".join(map(repr, values)) for name, values in levels.items()]
    out, png = tmp_path / "corners.json", tmp_path / "corners.png"
    result = ok(*spec_args("--runs", "4", *corners, "--json", out, "--chart", png))
    found = strict_json(out)["corners"]
    assert found["corners"] == 27 and found["simulations"] < 27  # searched, not enumerated
    assert found["levels"] == levels and found["seeds"] == [0]

    # brute force: every corner simulated on seed 0, its least margin over the specs
    specs = verification.as_specs(CURVE_SPECS)
    margins = {}
    for values in itertools.product(*levels.values()):
        corner = dict(zip(levels, values, strict=True))
        run = simcore.simulate("bonding_curve", float(CURVE_YEARS), corner, seed=0)
        margins[values] = specs.margin(Observation.of(run.nvars, run.stats, specs.columns))
    worst = min(margins, key=margins.get)
    assert found["worst"] == dict(zip(levels, worst, strict=True))
    assert found["worst_margin"] == margins[worst]
    for row in found["ranking"]:  # every corner it simulated has its brute-force margin
        assert row["margin"] == margins[tuple(row["corner"].values())]
    assert found["worst_margin"] < 0  # the worst corner fails the spec
    assert f"worst corners, {found['simulations']} of 27 simulated ({found['stop']})" in result.stdout
    assert strict_json(out)["yield"]["runs"] == 4  # the yield is still there
    assert png_size(png)[0] > 0


def test_morris_sensitivity_is_simcores(database, tmp_path):
    out, png = tmp_path / "morris.json", tmp_path / "morris.png"
    ranges = {"bond_mid": (300000.0, 700000.0), "bond_b": (5e-06, 2e-05)}
    vary = [f"--vary={name}={low!r}:{high!r}" for name, (low, high) in ranges.items()]
    result = ok("verify", "bonding_curve", "--spec", CURVE_SPECS[0], "--years", CURVE_YEARS, "--runs", "4",
                "--sensitivity", "morris", *vary, "--samples", "4", "--json", out, "--chart", png)  # fmt: skip
    found = strict_json(out)["sensitivity"]
    expected = verification.sensitivity("bonding_curve", CURVE_SPECS[0], ranges, "morris", 4, years=float(CURVE_YEARS))
    assert found == expected.to_dict()
    assert found["runs"] == 4 * (len(ranges) + 1) and found["ranges"] == {n: list(r) for n, r in ranges.items()}
    assert set(found["indices"]) == set(ranges) and sorted(found["ranking"]) == sorted(ranges)
    assert all(set(found["indices"][n]) == {"mu", "mu_star", "sigma", "mu_star_conf"} for n in ranges)
    assert table_row(result.stdout, found["ranking"][0])[0] == found["ranking"][0]
    assert png_size(png)[0] > 0


def test_vary_lo_hi_is_the_same_range_written_with_ints_or_floats(database, tmp_path):
    found = {}
    for text in ("300000:700000", "300000.0:700000.0"):
        out = tmp_path / f"{text}.json"
        ok("verify", "bonding_curve", "--spec", CURVE_SPECS[0], "--years", "0.05", "--runs", "1",
           "--sensitivity", "morris", f"--vary=bond_mid={text}", "--samples", "2", "--json", out)  # fmt: skip
        found[text] = strict_json(out)["sensitivity"]["ranges"]
    assert found["300000:700000"] == found["300000.0:700000.0"] == {"bond_mid": [300000.0, 700000.0]}


# --- bad input -----------------------------------------------------------------------------------------------------

BAD = [
    (["nosuch"], "unknown scenario 'nosuch'"),
    (["bonding_curve", "--spec", "bond.price >="], "spec 'bond.price >=': at column"),
    (["bonding_curve", "--spec", "bond.price >= 0.3 at noon"], "spec 'bond.price >= 0.3 at noon'"),
    (["ocean_v3", "ocean_1ss", "--spec", "mechanisms <= 3"], "--spec checks one scenario"),
    (["ocean_1ss", "--spec", "mechanisms <= 3", "--adversary", "local:gp"], "--adversary fills a criteria matrix"),
    (["ocean_1ss", "--rare"], "--rare, --corner, --sensitivity and --vary check specs: give --spec"),
    (["ocean_1ss", "--corner", "bond_mid=1,2"], "give --spec"),
    (["ocean_1ss", "--pass-rate", "0"], "--pass-rate must be in (0, 1], got 0"),
    (["ocean_1ss", "--pass-rate", "1.5"], "--pass-rate must be in (0, 1], got 1.5"),
    (["bonding_curve"], "bonding_curve declare no criteria: give --spec"),
    (["ocean_1ss", "--runs", "2", "--adversary", "nosuch:model"], "unknown provider 'nosuch' in model id"),
    (["ocean_1ss", "--runs", "2", "--adversary", "local:nosuch"], "unknown local model 'local:nosuch'"),
    (["ocean_1ss", "--queue"], "no broker is configured: set EVOLVER_BROKER_URL"),
    (["bonding_curve", "--spec", "bond.price >= 0.3", "--queue"], "no broker is configured: set EVOLVER_BROKER_URL"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(args) for args, _ in BAD])
def test_bad_input_is_one_error_line_exit_2_and_writes_nothing(database, tmp_path, args, message):
    out, png = tmp_path / "out.json", tmp_path / "out.png"
    result = invoke("verify", *args, "--json", out, "--chart", png)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert result.stdout == ""
    assert not out.exists() and not png.exists()
    if database.exists():  # a bad model is found when the job is submitted: the store was opened, nothing added
        store = Store(f"sqlite:///{database}")
        assert store.count_jobs() == 0
        store.close()


def test_an_unreachable_broker_is_a_clear_error_and_queues_nothing(database, tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLVER_BROKER_URL", "redis://127.0.0.1:1/0")
    for args in (["ocean_v3"], ["ocean_1ss", "--adversary", "local:gp"], ["bonding_curve", "--spec", CURVE_SPECS[0]]):
        result = invoke("verify", *args, "--queue")
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: cannot reach the broker at redis://127.0.0.1:1/0")
        assert "EVOLVER_BROKER_URL" in result.stderr and len(result.stderr.splitlines()) == 1
        assert result.stdout == ""
    assert not database.exists()


def test_an_adversary_for_a_design_that_needs_none_is_refused(database, tmp_path):
    scenario = tmp_path / "house_only.py"
    scenario.write_text(HOUSE_ONLY)
    result = invoke("verify", scenario, "--runs", "2", "--adversary", "local:gp")
    assert result.exit_code == 2 and "none of these scenarios has a criterion judged against an adversary" in (
        result.stderr
    )
    assert not database.exists()


def test_a_house_only_design_is_judged_without_an_adversary(database, tmp_path):
    """A design whose criteria are all the house's: its rows, no adversary."""
    scenario = tmp_path / "house_only.py"
    scenario.write_text(HOUSE_ONLY)
    out = tmp_path / "matrix.json"
    ok("verify", scenario, "--runs", "2", "--json", out)
    (design,) = strict_json(out)["matrix"]["designs"]
    assert design["scenario"] == "house_only" and [c["criterion"] for c in design["cells"]] == ["Simple"]
    assert design["cells"][0]["runs"][0]["kpi"] == 1.0  # one mechanism: one-sided staking
