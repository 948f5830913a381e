"""Shares of the optimum profit: a job stores its seeds' reference when it is submitted (from the scenario as pinned),
and every score of such a job is shown with its share, (score - idle) / (optimum - idle) over the seeds' means, in
the CLI, the API and an exported file; a job whose game has no optimum shows none. The expected shares are computed
here from the scores and `simcore.optimum` alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from statistics import fmean

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from test_cli import invoke, table_row
from test_schema import ROOT, migrate

import simcore
from evolver.api import create_app
from evolver.engine import Engine
from evolver.games import JobReference, job_reference, references
from evolver.job import JobSpec
from evolver.report import format_number
from evolver.settings import Settings
from evolver.store import Store
from simcore.optimum import idle_score, optimum_of

SEEDS, HELDOUT = (1, 3), (1000, 1001)
RUN = ("--seed", "1", "--seed", "3", "--heldout-seed", "1000", "--heldout-seed", "1001")


def expected(score: float, seeds: tuple[int, ...], years: float | None = None) -> float:
    """The share of `score` (a mean over `seeds`) on hidden_bots, from the simulator's idle score and optimum."""
    scenario = simcore.load_scenario("hidden_bots")
    scenario = replace(scenario, years=years) if years else scenario
    idle = fmean(idle_score(scenario, seed) for seed in seeds)
    optimum = fmean(optimum_of(scenario, seed).value for seed in seeds)  # type: ignore[union-attr]
    return (score - idle) / (optimum - idle)


def pct(share: float) -> str:
    return f"{share * 100:.1f} %"


# At submit


def test_a_job_stores_its_seeds_reference_as_the_games_references_give_it(store: Store) -> None:
    engine = Engine(store, Settings())
    job = store.job(engine.submit(JobSpec(scenario="hidden_bots", seeds=SEEDS, heldout=HELDOUT, years=0.5)))
    assert job is not None and job.reference is not None
    scenario = simcore.load_scenario("hidden_bots")
    assert job.reference == job_reference(references(scenario, SEEDS, HELDOUT, 0.5))
    half = replace(scenario, years=0.5)
    for name, seeds in (("train", SEEDS), ("heldout", HELDOUT)):
        stored = job.reference[name]
        assert stored["seeds"] == list(seeds) and stored["exact"] is True
        assert stored["idle"] == [idle_score(half, seed) for seed in seeds]
        assert stored["optimum"] == [optimum_of(half, seed).value for seed in seeds]  # type: ignore[union-attr]
    reference = JobReference.read(job.reference)
    assert reference.train is not None and reference.heldout is not None
    assert reference.train.share(60.0) == pytest.approx(expected(60.0, SEEDS, 0.5))
    defaults = store.job(engine.submit(JobSpec(scenario="hidden_bots", heldout=())))
    assert defaults is not None and defaults.reference is not None
    assert defaults.reference["train"]["seeds"] == list(range(10)) and "heldout" not in defaults.reference
    assert JobReference.read(defaults.reference).heldout is None


def test_the_reference_is_of_the_scenario_as_pinned(store: Store, tmp_path: Path) -> None:
    """A game file whose optimum is its own: the stored reference is that file's, as it was at submit."""
    original = Path(simcore.load_scenario("hidden_bots").module.__file__).read_text()  # type: ignore[arg-type]
    path = tmp_path / "own_optimum.py"
    own = (
        "from simcore.game import Optimum\ngame['optimum'] = lambda scenario, seed: Optimum(60 + seed, False, 'own')\n"
    )
    path.write_text(f"{original}\n{own}")
    job_id = Engine(store, Settings()).submit(JobSpec(scenario=str(path), seeds=(1, 3), heldout=()))
    path.write_text(original)  # an edit after submit changes nothing
    job = store.job(job_id)
    assert job is not None and job.reference is not None
    assert job.reference["train"] == {"seeds": [1, 3], "idle": [50.0, 50.0], "optimum": [61.0, 63.0], "exact": False}
    assert JobReference.read(job.reference).train.share(56.0) == pytest.approx(0.5)  # type: ignore[union-attr]


def test_no_reference_without_an_optimum_for_the_jobs_comp(store: Store) -> None:
    engine = Engine(store, Settings())
    for spec in (
        JobSpec(scenario="vc_unlock"),  # a game without an optimum
        JobSpec(scenario="hidden_bots", comp="min:usdc", seeds=SEEDS),  # the optimum is of max:usdc
        JobSpec(scenario="hidden_bots", comp="value", seeds=SEEDS),  # another metric
        JobSpec(scenario="hidden_bots", seeds=SEEDS, heldout=HELDOUT, years=5.5),  # 22 seed-years: too long to solve
    ):
        job = store.job(engine.submit(spec))
        assert job is not None and job.reference is None, spec
        assert JobReference.read(job.reference) == JobReference()
    old = store.create_job(
        scenario="hidden_bots", goal="g", comp="max:usdc", direction="max", models=["local:gp"], seed=0,
        budget={"generations": 1, "attempts": 1, "max_cost": None, "seeds": [1], "years": None},
    )  # fmt: skip
    assert store.job(old).reference is None  # type: ignore[union-attr]
    longest = store.job(engine.submit(JobSpec(scenario="hidden_bots", seeds=SEEDS, heldout=HELDOUT, years=5)))
    assert longest is not None and longest.reference is not None  # 20 seed-years: REFERENCE_SEED_YEARS


# Shown beside every score


def test_every_score_of_a_job_is_shown_with_its_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shares.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "300")  # the lineage tree and the tables on one line per row
    assert invoke("evolve", "hidden_bots", "--generations", "8", *RUN).exit_code == 0
    tournament = ("--model", "local:gp", "--model", "local:random", "--rounds", "1", "--attempts", "1")
    assert invoke("tournament", "hidden_bots", *tournament, *RUN).exit_code == 0
    store = Store(url)
    candidates = [c for c in store.lineage(1) if c.score is not None and c.heldout_score is not None]
    best = store.best(1, "max")
    assert best is not None and candidates
    share, heldout_share = expected(best.score, SEEDS), expected(best.heldout_score, HELDOUT)  # type: ignore[arg-type]
    assert share > 0.05  # the job found a player that makes a profit

    tree = invoke("lineage", "1").output
    assert "share of the optimum profit" in tree
    for c in candidates:
        assert f"score {format_number(c.score)} ({pct(expected(c.score, SEEDS))}" in tree  # type: ignore[arg-type]
        held = f"held-out {format_number(c.heldout_score)} ({pct(expected(c.heldout_score, HELDOUT))}, gap"  # type: ignore[arg-type]
        assert held in tree
    shown = invoke("show", str(best.id)).output
    scenario = simcore.load_scenario("hidden_bots")
    optimum = fmean(optimum_of(scenario, seed).value for seed in SEEDS)  # type: ignore[union-attr]
    assert f"score {format_number(best.score)}, {pct(share)} of the optimum profit (idle 50, optimum " in shown
    assert f"optimum {format_number(optimum)})" in shown and f", {pct(heldout_share)} of the optimum profit" in shown
    cells = {"best": f"{format_number(best.score)} ({pct(share)})"}
    cells["held-out"] = f"{format_number(best.heldout_score)} ({pct(heldout_share)})"
    assert table_row(invoke("jobs").output, "1")[6:8] == list(cells.values())
    assert table_row(invoke("status", "1").output, "local:gp")[1:3] == list(cells.values())

    board = invoke("status", "2").output
    leaders = [c for c in store.lineage(2) if c.score is not None]
    for model in ("local:gp", "local:random"):
        top = max((c for c in leaders if c.model_id == model), key=lambda c: c.score)  # type: ignore[arg-type,return-value]
        row = table_row(board, model)
        assert f"{format_number(top.score)} ({pct(expected(top.score, SEEDS))})" in row  # type: ignore[arg-type]

    player = tmp_path / "player.py"
    assert invoke("export", "--job", "1", "--best", "-o", str(player)).exit_code == 0
    header = player.read_text()
    assert f"Share: {pct(share)} of the optimum profit (idle 50, optimum {format_number(optimum)})\n" in header
    assert f"Held-out share: {pct(heldout_share)} of the optimum profit (idle 50, optimum " in header

    api = TestClient(create_app(Settings(database_url=url)))
    job = api.get("/jobs/1").json()
    assert (job["share"], job["heldout_share"]) == (pytest.approx(share), pytest.approx(heldout_share))
    assert job["reference"]["train"] == {"idle": 50.0, "optimum": pytest.approx(optimum), "exact": True}
    assert job["reference"]["heldout"]["optimum"] == pytest.approx(
        fmean(optimum_of(scenario, seed).value for seed in HELDOUT)  # type: ignore[union-attr]
    )
    assert job["standings"][0]["share"] == pytest.approx(share)
    assert api.get("/jobs").json()["items"][0]["share"] == pytest.approx(share)
    for item in api.get("/jobs/1/lineage").json()["items"]:
        if item["score"] is not None:
            assert item["share"] == pytest.approx(expected(item["score"], SEEDS))
    detail = api.get(f"/candidates/{best.id}").json()
    assert (detail["share"], detail["heldout_share"]) == (pytest.approx(share), pytest.approx(heldout_share))
    assert detail["parent"] is None or detail["parent"]["share"] == pytest.approx(
        expected(detail["parent"]["score"], SEEDS)
    )
    for row in api.get("/tournaments/2").json()["leaderboard"]:
        assert row["share"] == pytest.approx(expected(row["best"], SEEDS))
        assert row["heldout_share"] == pytest.approx(expected(row["best_heldout"], HELDOUT))
    store.close()


def test_a_job_whose_game_has_no_optimum_shows_no_share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "300")
    assert invoke("evolve", "vc_unlock", "--generations", "2", "--attempts", "1", "--seed", "0").exit_code == 0
    store = Store(url)
    best = store.best(1, "max")
    assert best is not None
    for args in (("lineage", "1"), ("show", str(best.id)), ("jobs",), ("status", "1")):
        output = invoke(*args).output
        assert "%" not in output and "optimum" not in output, args
    player = tmp_path / "player.py"
    assert invoke("export", "--job", "1", "--best", "-o", str(player)).exit_code == 0
    assert "share" not in player.read_text().split('"""')[1].lower()
    api = TestClient(create_app(Settings(database_url=url)))
    job = api.get("/jobs/1").json()
    assert (job["reference"], job["share"], job["heldout_share"], job["standings"][0]["share"]) == (None,) * 4
    assert {item["share"] for item in api.get("/jobs/1/lineage").json()["items"]} == {None}
    store.close()


# The schema


def test_schema_0005_adds_the_reference_and_takes_it_away_on_sqlite(tmp_path: Path) -> None:
    _up_and_down(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.integration
def test_schema_0005_adds_the_reference_and_takes_it_away_on_postgresql() -> None:
    import postgres

    with postgres.running() as server:
        _up_and_down(postgres.create_database(server, "reference"))


def _up_and_down(url: str) -> None:
    """A store at 0004 with a job, brought to 0005 and then to head: the job has no reference and reads as before; a
    new job stores one. Back down to 0004 the column is gone and the jobs are kept."""
    migrate(url, "0004")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO jobs (kind, scenario, goal, comp, direction, models, budget, seed, status, created_at, "
            "updated_at) VALUES ('evolve', 'hidden_bots', 'g', 'max:usdc', 'max', '[\"local:gp\"]', "
            "'{\"seeds\": [1], \"heldout\": [], \"generations\": 1}', 0, 'done', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))  # fmt: skip
    migrate(url, "0005")
    with engine.connect() as connection:
        assert "reference" in {column["name"] for column in inspect(connection).get_columns("jobs")}
        assert connection.execute(text("SELECT reference FROM jobs")).scalar_one() is None
    store = Store(url)
    store.upgrade()
    old = store.job(1)
    assert old is not None and old.reference is None and JobReference.read(old.reference).train is None
    new = Engine(store, Settings()).submit(JobSpec(scenario="hidden_bots", seeds=(1,), heldout=()))
    assert store.job(new).reference["train"]["seeds"] == [1]  # type: ignore[index,union-attr]
    store.close()
    config = Config(str(ROOT / "alembic.ini"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with engine.connect() as connection:
        assert "reference" not in {column["name"] for column in inspect(connection).get_columns("jobs")}
        assert connection.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 2
    engine.dispose()
