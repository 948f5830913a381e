"""The HTTP API over real HTTP: the app served by uvicorn on a real store, every answer checked against the store
(or another endpoint, or a direct call of the library) rather than against itself.

Reads go to the shared server on the finished runs (`base_url`, `client`); anything that writes goes to a server
on a store of its own, so the finished store stays as the other tests expect it.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import wire
from api_server import TOKEN, make_settings, serving
from matplotlib.colors import to_hex
from sqlalchemy import create_engine, text
from wire import WireServer

import simcore
from evolver import charts
from evolver.api import create_app, runner
from evolver.api.routes.candidates import CHART_LIMITS
from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.report import jsonable
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool

pytestmark = pytest.mark.integration

BIG_ID = 2**63  # one past the largest id a database integer holds
EVOLVER = Path(sys.executable).with_name("evolver")
ROUTES = {
    "/jobs": {"get", "post"},
    "/jobs/{job_id}": {"get"},
    "/jobs/{job_id}/lineage": {"get"},
    "/tournaments": {"get", "post"},
    "/tournaments/{job_id}": {"get"},
    "/candidates/{candidate_id}": {"get"},
    "/candidates/{candidate_id}/export": {"get"},
    "/candidates/{candidate_id}/chart.png": {"get"},
    "/candidates/{candidate_id}/run.json": {"get"},
    "/scenarios": {"get"},
    "/scenarios/{name}/simulate": {"post"},
}
BODIES = {  # a valid job and a valid tournament, quick to run
    "/jobs": {"scenario": "ai3_plugins", "generations": 1, "attempts": 1},
    "/tournaments": {"scenario": "ai3_plugins", "models": ["local:gp", "local:random"], "rounds": 1, "attempts": 1},
}


@pytest.fixture(scope="module")
def store(finished: dict) -> Iterator[Store]:
    """The finished runs' store, read directly."""
    store = Store(f"sqlite:///{finished['database']}")
    yield store
    store.close()


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server of its own for the tests that write: its URL and its store; jobs run in its process."""
    database = tmp_path_factory.mktemp("writes") / "lineage.db"
    with serving(create_app(make_settings(database))) as url:
        store = Store(f"sqlite:///{database}")
        yield {"url": url, "store": store}
        store.close()


def connect(url: str, token: str | None = None) -> httpx.Client:
    """A client that opens a connection per request (a server error closes the connection it came on)."""
    headers = {"Connection": "close"} | ({"Authorization": f"Bearer {token}"} if token else {})
    return httpx.Client(base_url=url, timeout=60, headers=headers)


def problem(response: httpx.Response, status: int) -> str:
    """The error message of a JSON problem with this status."""
    assert response.status_code == status, (response.status_code, response.text[:1000])
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


def wait_for(store: Store, job_id: int, statuses: tuple[str, ...] = ("done", "failed", "stopped"), timeout=60.0):
    deadline = time.monotonic() + timeout
    while (job := store.job(job_id)).status not in statuses:
        assert time.monotonic() < deadline, f"job {job_id} still {job.status} after {timeout} s"
        time.sleep(0.1)
    return job


# Jobs: lists, details, lineage


def test_jobs_are_listed_oldest_first_in_pages(client, store):
    everything = client.get("/jobs").json()
    jobs = store.jobs()
    assert everything["total"] == store.count_jobs() == len(jobs) == 4
    assert [item["id"] for item in everything["items"]] == [job.id for job in jobs] == sorted(job.id for job in jobs)
    for item, job in zip(everything["items"], jobs, strict=True):
        best = store.best(job.id, job.direction)
        assert (item["kind"], item["status"], item["models"]) == (job.kind, job.status, list(job.models))
        assert (item["comp"], item["budget"], item["best"]) == (job.comp, job.budget, best.score)
        assert (item["best_candidate"], item["best_heldout"], item["gap"]) == (best.id, best.heldout_score, best.gap)
    page = client.get("/jobs", params={"offset": 1, "limit": 1}).json()
    assert page == {"items": everything["items"][1:2], "total": 4, "offset": 1, "limit": 1}
    assert client.get("/jobs", params={"offset": 4}).json()["items"] == []
    for kind in ("evolve", "tournament"):
        listed = client.get("/jobs", params={"kind": kind}).json()
        assert [item["id"] for item in listed["items"]] == [job.id for job in store.jobs(kind)]
        assert listed["total"] == store.count_jobs(kind)


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"kind": "match"}, {"limit": "x"}])
def test_a_bad_page_is_a_422_naming_the_parameter(client, query):
    assert next(iter(query)) in problem(client.get("/jobs", params=query), 422)


def test_tournaments_lists_only_tournaments(client, finished):
    listed = client.get("/tournaments").json()
    assert [item["id"] for item in listed["items"]] == [finished["tournament"], finished["arena"]]
    assert listed["total"] == 2
    assert listed["items"] == client.get("/jobs", params={"kind": "tournament"}).json()["items"]
    assert client.get("/tournaments", params={"offset": 2}).json()["items"] == []


@pytest.mark.parametrize("which", ["evolve", "failing", "tournament"])
def test_a_job_stands_as_the_store_says(client, store, finished, which):
    job_id = finished[which]
    detail = client.get(f"/jobs/{job_id}").json()
    job, lineage = store.job(job_id), store.lineage(job_id)
    assert (detail["id"], detail["status"], detail["kind"]) == (job_id, "done", job.kind)
    assert (detail["scenario"], detail["comp"], detail["budget"]) == (job.scenario, job.comp, job.budget)
    phases = job.budget["generations"] if job.kind == "evolve" else 1 + 2 * job.budget["rounds"]
    assert detail["phases"] == phases == Engine(store, Settings(broker_url=None)).plan(job_id).phases
    assert detail["phase"] == detail["phases"]  # the run is over
    assert detail["candidates"] == len(lineage) > 0
    assert detail["ok"] == sum(candidate.status == "ok" for candidate in lineage)
    assert [standing["model"] for standing in detail["standings"]] == list(job.models)
    for standing in detail["standings"]:
        own = [c for c in lineage if c.model_id == standing["model"]]
        top = max((c for c in own if c.score is not None), key=lambda c: (c.score, -c.id))  # earliest of a tie
        assert (standing["best"], standing["best_candidate"]) == (top.score, top.id)
        assert (standing["best_heldout"], standing["gap"]) == (top.heldout_score, top.gap)
        assert (standing["calls"], standing["cost"]) == (len(own), pytest.approx(sum(c.cost for c in own)))
    assert detail["best"] == store.best(job_id, job.direction).score == max(s["best"] for s in detail["standings"])


def test_the_failing_job_counts_its_failed_candidates(client, finished):
    detail = client.get(f"/jobs/{finished['failing']}").json()
    assert detail["ok"] < detail["candidates"]
    assert detail["standings"][0]["cost"] > 0 and detail["standings"][0]["calls"] == detail["candidates"]


def test_an_unknown_job_is_a_404_and_a_word_is_a_422(client):
    for path in ("/jobs/987654", "/jobs/987654/lineage", "/tournaments/987654"):
        assert "987654" in problem(client.get(path), 404)
    for path in ("/jobs/abc", "/jobs/1.5/lineage", "/tournaments/x"):
        assert "job_id" in problem(client.get(path), 422)


@pytest.mark.parametrize(
    "path",
    [
        f"/jobs/{BIG_ID}",
        f"/jobs/{BIG_ID}/lineage",
        f"/tournaments/{BIG_ID}",
        f"/candidates/{BIG_ID}",
        f"/candidates/{BIG_ID}/export",
        f"/candidates/{BIG_ID}/chart.png",
        f"/candidates/{BIG_ID}/run.json",
        f"/jobs/-{BIG_ID + 1}",
        f"/candidates/{10**30}",
    ],
)
def test_an_id_too_large_for_the_database_is_not_a_server_error(base_url, path):
    """No such row can exist: a 404 (or a 422 for an id out of range), never a 500."""
    with connect(base_url) as client:
        response = client.get(path)
    assert response.status_code in (404, 422), (response.status_code, response.text)
    assert response.json()["error"]


def test_the_lineage_lists_every_candidate_parent_first_with_the_failures(client, store, finished):
    for which in ("evolve", "failing", "tournament"):
        job_id = finished[which]
        page = client.get(f"/jobs/{job_id}/lineage").json()
        rows = store.lineage(job_id)
        assert page["total"] == len(rows) == len(page["items"]) and page["offset"] == 0
        assert [item["id"] for item in page["items"]] == [row.id for row in rows]
        seen: set[int] = set()
        for item, row in zip(page["items"], rows, strict=True):
            assert item["parent_id"] is None or item["parent_id"] in seen  # every parent before its children
            seen.add(item["id"])
            assert "code" not in item
            expected = (row.model_id, row.op, row.generation + 1, row.parent_id, row.target_id, row.status, row.score)
            assert (item["model"], item["op"], item["generation"], item["parent_id"], item["target_id"],
                    item["status"], item["score"]) == expected  # fmt: skip
            assert (item["error"], item["error_line"]) == (row.error, row.error_line)
            assert (item["heldout_score"], item["heldout_status"], item["gap"]) == (
                row.heldout_score, row.heldout_status, row.gap,
            )  # fmt: skip
            if item["status"] != "ok":
                assert item["error"] and item["score"] is None and item["heldout_status"] is None
            elif which != "failing":  # the others hold seeds out
                assert item["heldout_status"] == "ok" and item["gap"] == item["heldout_score"] - item["score"]
    failures = [item for item in client.get(f"/jobs/{finished['failing']}/lineage").json()["items"] if item["error"]]
    assert {item["status"] for item in failures} == {"no_code", "runtime_error"}
    assert any("import" in item["error"] for item in failures if item["status"] == "runtime_error")
    assert any(item["error_line"] == 2 for item in failures)  # the syntax error, with its line
    beats = client.get(f"/jobs/{finished['tournament']}/lineage").json()["items"]
    assert any(item["target_id"] is not None for item in beats)


def test_the_lineage_comes_in_pages(client, store, finished):
    job_id = finished["tournament"]
    ids = [row.id for row in store.lineage(job_id)]
    page = client.get(f"/jobs/{job_id}/lineage", params={"offset": 2, "limit": 3}).json()
    assert [item["id"] for item in page["items"]] == ids[2:5]
    assert (page["total"], page["offset"], page["limit"]) == (len(ids), 2, 3)
    assert client.get(f"/jobs/{job_id}/lineage", params={"offset": len(ids)}).json()["items"] == []
    assert "limit" in problem(client.get(f"/jobs/{job_id}/lineage", params={"limit": 0}), 422)


# Candidates


def test_a_candidate_comes_in_full_with_its_parent_and_the_diff(client, store, finished):
    child = next(row for row in store.lineage(finished["evolve"]) if row.parent_id is not None)
    parent = store.candidate(child.parent_id)
    data = client.get(f"/candidates/{child.id}").json()
    assert (data["id"], data["job_id"], data["model"]) == (child.id, child.job_id, child.model_id)
    assert (data["code"], data["code_hash"]) == (child.code, child.code_hash)
    assert data["metrics"] == child.metrics and data["score"] == child.score
    assert (data["parent"]["id"], data["parent"]["score"]) == (parent.id, parent.score)
    assert "code" not in data["parent"]
    assert data["target"] is None
    choice = data["choice"]  # what the step was given, and how the reply gave its code
    assert choice == child.choice and (choice["parent"], choice["edit"]) == (parent.id, "rewrite")
    diff = data["diff"]
    assert diff.startswith(f"--- #{parent.id}\n+++ #{child.id}\n")
    removed = {line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")}
    added = {line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")}
    assert removed <= set(parent.code.splitlines()) and added <= set(child.code.splitlines()) and (removed or added)
    evaluations = store.evaluations(child.id)
    assert len(data["evaluations"]) == len(evaluations) == 2  # on the training seeds, then on the held-out ones
    for given, row in zip(data["evaluations"], evaluations, strict=True):
        assert (given["seeds"], given["status"], given["heldout"]) == (row.seeds, row.status, row.heldout)
        assert (given["score"], given["metrics"]) == (row.score, row.metrics)
    assert [(e["seeds"], e["heldout"]) for e in data["evaluations"]] == [([0], False), ([7, 8], True)]
    assert (data["heldout_score"], data["gap"]) == (child.heldout_score, child.gap) == (
        data["evaluations"][1]["score"], data["evaluations"][1]["score"] - data["score"],
    )  # fmt: skip


def test_a_root_candidate_has_no_parent_and_no_diff(client, store, finished):
    root = store.lineage(finished["evolve"])[0]
    data = client.get(f"/candidates/{root.id}").json()
    assert root.parent_id is None and data["parent_id"] is None
    assert data["parent"] is None and data["diff"] is None and data["code"] == root.code


def test_a_beat_shows_its_target_and_a_model_candidate_its_prompt_and_reply(client, store, finished):
    beat = next(row for row in store.lineage(finished["tournament"]) if row.target_id is not None)
    data = client.get(f"/candidates/{beat.id}").json()
    assert data["target"]["id"] == beat.target_id and data["target"]["model"] != data["model"]
    asked = store.lineage(finished["failing"])[0]
    data = client.get(f"/candidates/{asked.id}").json()
    assert data["prompt"] == asked.prompt and data["prompt"][-1]["content"]
    assert data["reply"] == asked.reply and "```python" in data["reply"]
    assert data["status"] == "no_code" and data["error"] == asked.error


def test_an_unknown_candidate_is_a_404(client):
    for what in ("", "/export", "/chart.png", "/run.json"):
        assert "987654" in problem(client.get(f"/candidates/987654{what}"), 404)
    assert "candidate_id" in problem(client.get("/candidates/first"), 422)


def test_an_exported_candidate_reproduces_its_score_with_evolver_evaluate(client, store, finished, tmp_path):
    job = store.job(finished["evolve"])
    best = store.best(job.id, job.direction)
    response = client.get(f"/candidates/{best.id}/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/x-python")
    assert response.headers["content-disposition"] == f'attachment; filename="player_{best.id}.py"'
    assert best.code.strip() in response.text
    player, result = tmp_path / f"player_{best.id}.py", tmp_path / "evaluation.json"
    player.write_text(response.text)
    command = [str(EVOLVER), "evaluate", job.scenario, str(player), "--seed", "0", "--json", str(result)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    evaluated = json.loads(result.read_text())
    assert evaluated["status"] == "ok" and evaluated["seeds"] == [0] == job.budget["seeds"]
    assert evaluated["score"] == pytest.approx(best.score, rel=1e-12)
    assert evaluated["metrics"] == pytest.approx(best.metrics, rel=1e-12)
    assert f"Held-out score: {best.heldout_score!r} on held-out seeds [7, 8], gap {best.gap!r}" in response.text


def test_only_a_candidate_that_evaluated_ok_is_exported(client, store, finished):
    failed = [row for row in store.lineage(finished["failing"]) if row.status != "ok"]
    assert {"no_code", "runtime_error"} <= {row.status for row in failed}  # without code, and with code that fails
    for row in failed:
        message = problem(client.get(f"/candidates/{row.id}/export"), 409)
        assert str(row.id) in message and row.status in message and "did not evaluate ok" in message


def test_a_candidate_chart_is_a_png_of_its_run(client, store, finished):
    best = store.best(finished["evolve"], "max")
    response = client.get(f"/candidates/{best.id}/chart.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(response.content), format="png")
    height, width = image.shape[:2]
    assert height > 200 and width > 200 and image.shape[2] in (3, 4)
    assert image.std() > 0  # something is drawn


def test_a_candidates_run_is_the_data_its_png_draws(client, store, finished):
    """run.json: the panels the PNG draws (titles, labels, colours, the columns of their lines) and those columns'
    values day by day, equal to the daily stats of the sandbox's run of the candidate on its job's first seed."""
    job = store.job(finished["evolve"])
    best = store.best(job.id, job.direction)
    response = client.get(f"/candidates/{best.id}/run.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    run = response.json()
    seed = job.budget["seeds"][0]
    assert (run["candidate_id"], run["seed"]) == (best.id, seed)
    assert run["title"] == f"candidate {best.id} ({best.model_id}, {best.op}): {job.scenario}, seed {seed}"

    with SandboxPool(1) as pool:  # the run again, as the routes make it
        evaluation = pool.evaluate(best.code, job.scenario, [seed], job.budget["years"], CHART_LIMITS, detail=True)
    frame = simcore.engine.stats_frame(evaluation.detail["stats"])
    assert run["days"] == frame["i"].tolist() and len(run["days"]) > 300
    keys = [line["key"] for panel in run["panels"] for line in panel["lines"]]
    assert sorted(run["columns"]) == sorted(set(keys))  # every column a line draws, and no other
    for key, column in run["columns"].items():
        stats = [x if isinstance(x, int | float) and math.isfinite(x) else None for x in frame[key]]
        assert column == stats, key
        assert any(x is not None for x in column)

    scenario = simcore.load_scenario(job.scenario)
    drawn = charts.figure(frame, charts.chart_panels(frame, scenario.graphs, charts.slot_graphs(scenario)))
    assert [panel["title"] for panel in run["panels"]] == [axes.get_title() for axes in drawn.axes]
    assert run["panels"][-2:] == [
        {"title": "Markets", "lines": [
            {"label": "dex AI", "color": charts.CYCLE[0], "key": "dex.la"},
            {"label": "dex USDC", "color": charts.CYCLE[1], "key": "dex.lb"},
        ]},
        {"title": "Player wallet", "lines": [
            {"label": "USDC", "color": charts.CYCLE[0], "key": "player.USDC"},
            {"label": "AI", "color": charts.CYCLE[1], "key": "player.AI"},
        ]},
    ]  # fmt: skip
    for panel, axes in zip(run["panels"], drawn.axes, strict=True):
        plotted = [(line.get_label(), to_hex(line.get_color()), list(line.get_ydata())) for line in axes.lines]
        ours = [(line["label"], to_hex(line["color"]), run["columns"][line["key"]]) for line in panel["lines"]]
        assert [(label, color) for label, color, _ in plotted] == [(label, color) for label, color, _ in ours]
        for (_, _, ys), (_, _, column) in zip(plotted, ours, strict=True):
            assert [None if math.isnan(y) else y for y in ys] == column


def test_a_failed_candidate_has_no_chart(client, store, finished):
    for row in store.lineage(finished["failing"]):
        if row.status != "ok":
            for what in ("chart.png", "run.json"):
                message = problem(client.get(f"/candidates/{row.id}/{what}"), 409)
                assert str(row.id) in message and row.status in message


def test_no_chart_is_drawn_of_a_job_whose_component_changed_since_submit(tmp_path: Path):
    """The chart re-runs the candidate: of a job whose scenario now composes another definition of a component, it
    would draw another run, so it is refused, naming the component's refs (a job of its own: the shared store stays
    as it is)."""
    database = tmp_path / "components.db"
    store = Store(f"sqlite:///{database}")
    store.upgrade()
    with SandboxPool(1) as pool:
        job_id = Engine(store, Settings(broker_url=None), pool).execute(
            JobSpec(scenario="bonding_curve", models=("local:gp",), generations=1)
        )
    best = store.best(job_id, "max")
    now = simcore.load_scenario("bonding_curve").components["bond"]
    older = now[:-4] + ("1111" if now.endswith("0000") else "0000")
    with create_engine(f"sqlite:///{database}").begin() as connection:
        connection.execute(text("UPDATE jobs SET scenario_components = :refs"), {"refs": json.dumps({"bond": older})})
    with serving(create_app(make_settings(database))) as url, httpx.Client(base_url=url, timeout=60) as client:
        for what in ("chart.png", "run.json"):
            message = problem(client.get(f"/candidates/{best.id}/{what}"), 409)
            assert f"bond: {older} -> {now}" in message


# Tournaments


def test_a_tournament_shows_its_leaderboard_and_its_matches(client, store, finished):
    job_id = finished["tournament"]
    data = client.get(f"/tournaments/{job_id}").json()
    job, matches = store.job(job_id), store.matches(job_id)
    board = data["leaderboard"]
    assert sorted(row["model"] for row in board) == sorted(job.models) and len(board) == len(job.models)
    assert sum(row["rating"] for row in board) == pytest.approx(1500 * len(board), abs=0.05 * len(board))  # zero-sum
    assert [row["rating"] for row in board] == sorted((row["rating"] for row in board), reverse=True)
    standings = {standing.model: standing for standing in store.standings(job_id, job.direction, job.models)}
    for row in board:
        assert (row["best_heldout"], row["gap"]) == (standings[row["model"]].best_heldout, standings[row["model"]].gap)
        assert row["best_heldout"] is not None
        assert row["wins"] + row["losses"] == row["matches"]
        assert row["matches"] == sum(row["model"] in (m.challenger, m.defender) for m in matches)
    assert sum(row["wins"] for row in board) == len(matches) > 0
    fields = ("round", "challenger", "defender", "challenger_candidate_id", "defender_candidate_id", "seeds",
              "challenger_score", "defender_score", "won")  # fmt: skip
    assert [[given[name] for name in fields] for given in data["matches"]] == [
        [getattr(match, name) for name in fields] for match in matches
    ]
    as_job = client.get(f"/jobs/{job_id}").json()
    assert {name: data[name] for name in as_job} == as_job


def test_a_job_that_is_not_a_tournament_is_a_404_there(client, finished):
    job_id = finished["evolve"]
    assert f"/jobs/{job_id}" in problem(client.get(f"/tournaments/{job_id}"), 404)
    assert client.get(f"/jobs/{job_id}").status_code == 200


# Scenarios


def test_the_scenarios_are_the_built_in_ones_in_pages(client):
    names = simcore.builtin_names()
    listed = client.get("/scenarios").json()
    assert [item["name"] for item in listed["items"]] == names and listed["total"] == len(names)
    for item in listed["items"]:
        scenario = simcore.load_scenario(item["name"])
        assert set(item["variables"]) == set(scenario.variables) and item["years"] == scenario.years
        assert item["goal"] == (scenario.slot.goal if scenario.slot else None)
        assert item["comp"] == (scenario.slot.comp if scenario.slot else None)
    page = client.get("/scenarios", params={"offset": 1, "limit": 2}).json()
    assert [item["name"] for item in page["items"]] == names[1:3] and page["total"] == len(names)
    assert client.get("/scenarios", params={"offset": len(names)}).json()["items"] == []


def test_a_default_simulation_is_simcores(client):
    response = client.post("/scenarios/ai3_plugins/simulate", json={})
    assert response.status_code == 200
    data = response.json()
    direct = simcore.simulate("ai3_plugins")
    assert data["years"] == simcore.load_scenario("ai3_plugins").years and data["seed"] == 0
    assert data["variables"] == jsonable(direct.nvars)
    assert data["result"] == jsonable(direct.res)
    assert len(data["stats"]) == len(direct.stats) > 365
    assert data["stats"][-1] == jsonable(direct.stats[-1]) and data["stats"][100] == jsonable(direct.stats[100])


def test_an_override_changes_the_simulation_as_it_changes_simcores(client):
    years, changed = 0.2, {"dex_usdc_il": 200, "iaip": 0.8}
    default = client.post("/scenarios/ai3_plugins/simulate", json={"years": years}).json()
    data = client.post("/scenarios/ai3_plugins/simulate", json={"years": years, "variables": changed}).json()
    direct = simcore.simulate("ai3_plugins", years, changed, 0)
    assert data["years"] == years and len(data["stats"]) == len(direct.stats) >= math.ceil(365 * years)
    assert data["variables"]["dex_usdc_il"] == 200 and default["variables"]["dex_usdc_il"] != 200
    assert data["result"] == jsonable(direct.res) and data["result"] != default["result"]
    assert data["stats"][-1] == jsonable(direct.stats[-1])


@pytest.mark.parametrize(
    ("path", "body", "status", "named"),
    [
        ("/scenarios/ai3_plugins/simulate", {"variables": {"no_such_var": 1}}, 422, "no_such_var"),
        ("/scenarios/no_such_scenario/simulate", {}, 404, "no_such_scenario"),
        ("/scenarios/ai3_plugins/simulate", {"years": 51}, 422, "years"),
        ("/scenarios/ai3_plugins/simulate", {"years": 0}, 422, "years"),
        ("/scenarios/ai3_plugins/simulate", {"players": []}, 422, "players"),
        ("/scenarios/ai3_plugins/simulate", {"variables": {"iaip": "cheap"}}, 422, "iaip"),
        ("/scenarios/ai3_plugins/simulate", {"seed": -1}, 422, "seed"),
    ],
)
def test_a_simulation_that_cannot_run_says_why(base_url, path, body, status, named):
    with connect(base_url) as client:
        assert named in problem(client.post(path, json=body), status)


# Writes: the token


def test_writes_without_the_token_are_refused_and_write_nothing(writable):
    store: Store = writable["store"]
    before = store.count_jobs()
    for path, body in BODIES.items():
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": TOKEN}):  # fmt: skip
            with connect(writable["url"]) as client:
                response = client.post(path, json=body, headers=headers)
            assert "Bearer" in problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
        with connect(writable["url"]) as client:  # the token is checked before the body
            assert problem(client.post(path, json={"scenario": 3}), 401)
    assert store.count_jobs() == before


def test_a_server_without_a_token_takes_no_writes(tmp_path):
    database = tmp_path / "closed.db"
    settings = make_settings(database, api_token=None)
    with serving(create_app(settings)) as url, connect(url, TOKEN) as client:
        for path, body in BODIES.items():
            assert "EVOLVER_API_TOKEN" in problem(client.post(path, json=body), 403)
        assert client.get("/jobs").json()["total"] == 0 and client.get("/scenarios").status_code == 200
    assert Store(f"sqlite:///{database}").count_jobs() == 0


def test_reads_need_no_token_and_ignore_a_wrong_one(base_url, store, finished):
    job_id, tournament = finished["evolve"], finished["tournament"]
    candidate = store.lineage(job_id)[0].id
    paths = ["/jobs", f"/jobs/{job_id}", f"/jobs/{job_id}/lineage", "/tournaments", f"/tournaments/{tournament}",
             f"/candidates/{candidate}", f"/candidates/{candidate}/export", "/scenarios", "/openapi.json",
             "/docs"]  # fmt: skip
    for token in (None, "wrong-token"):
        with connect(base_url, token) as client:
            for path in paths:
                assert client.get(path).status_code == 200, path


# Writes: submitting


def test_a_submitted_job_runs_in_the_server_to_its_end(writable):
    store: Store = writable["store"]
    with connect(writable["url"], TOKEN) as client:
        body = {"scenario": "ai3_plugins", "generations": 2, "attempts": 1, "seed": 7, "heldout_seeds": [3, 4]}
        response = client.post("/jobs", json=body)
        assert response.status_code == 202, response.text
        submitted = response.json()
        assert submitted["status"] in ("pending", "running") and submitted["kind"] == "evolve"
        assert submitted["models"] == ["local:gp"] and submitted["seed"] == 7 and submitted["phases"] == 2
        job_id = submitted["id"]
        budget = store.job(job_id).budget
        assert (budget["generations"], budget["seeds"], budget["heldout"]) == (2, [0], [3, 4])  # the game's seed 0
        deadline = time.monotonic() + 60
        while (detail := client.get(f"/jobs/{job_id}").json())["status"] in ("pending", "running"):
            assert time.monotonic() < deadline, detail
            time.sleep(0.2)
        assert detail["status"] == "done", detail["error"]
        lineage = client.get(f"/jobs/{job_id}/lineage").json()
        assert lineage["total"] == detail["candidates"] == len(store.lineage(job_id)) >= 2
        assert detail["phase"] == detail["phases"] == 2 and detail["best"] is not None
        assert detail["best_heldout"] == store.best(job_id, "max").heldout_score is not None
        assert job_id in [item["id"] for item in client.get("/jobs").json()["items"]]


def test_a_submitted_tournament_runs_to_its_matches(writable):
    store: Store = writable["store"]
    body = {"scenario": "ai3_plugins", "models": ["local:gp", "local:random"], "rounds": 1, "attempts": 1}
    with connect(writable["url"], TOKEN) as client:
        response = client.post("/tournaments", json=body)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert response.json()["kind"] == "tournament"
        job = wait_for(store, job_id)
        assert job.status == "done", job.error
        data = client.get(f"/tournaments/{job_id}").json()
        assert len(data["matches"]) == len(store.matches(job_id)) == 2
        assert sum(row["rating"] for row in data["leaderboard"]) == pytest.approx(3000, abs=0.1)
        assert job_id in [item["id"] for item in client.get("/tournaments").json()["items"]]


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/jobs", {"scenario": "no_such_scenario"}, "no_such_scenario"),
        ("/jobs", {"scenario": "ai3_quickstart"}, "slot"),
        ("/jobs", {"scenario": "ai3_plugins", "models": ["nope:x"]}, "nope:x"),
        ("/jobs", {"scenario": "ai3_plugins", "models": ["local"]}, "local"),
        ("/jobs", {"scenario": "ai3_plugins", "comp": "max:no_such_metric"}, "no_such_metric"),
        ("/jobs", {"scenario": "ai3_plugins", "comp": "fn:no_such_function"}, "no_such_function"),
        ("/jobs", {"scenario": "ai3_plugins", "comp": "fn:buyer", "generations": 1, "attempts": 1}, "buyer"),
        ("/jobs", {"scenario": "ai3_plugins", "generations": 0}, "generations"),
        ("/jobs", {"scenario": "ai3_plugins", "attempts": 21}, "attempts"),
        ("/jobs", {"scenario": "ai3_plugins", "seeds": []}, "seeds"),
        ("/jobs", {"scenario": "ai3_plugins", "seeds": [1, 2], "heldout_seeds": [2]}, "seeds 2 are both"),
        ("/jobs", {"scenario": "ai3_plugins", "heldout_seeds": [-1]}, "heldout_seeds"),
        ("/jobs", {"scenario": "ai3_plugins", "heldout_seeds": list(range(33))}, "heldout_seeds"),
        ("/jobs", {"scenario": "ai3_plugins", "models": []}, "models"),
        ("/jobs", {"scenario": "ai3_plugins", "rounds": 2}, "rounds"),
        ("/jobs", {"models": ["local:gp"]}, "scenario"),
        ("/tournaments", {"scenario": "ai3_plugins", "models": ["local:gp"]}, "models"),
        ("/tournaments", {"scenario": "ai3_plugins", "models": ["local:gp", "local:random"], "rounds": 0}, "rounds"),
        ("/jobs", {"scenario": "ai3_plugins", "models": ["local:gp", "local:gp"]}, "local:gp"),
        ("/tournaments", {"scenario": "ai3_plugins", "models": ["local:gp", "local:random", "local:gp"]}, "local:gp"),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_a_bad_submission_is_a_422_naming_what_is_wrong(writable, path, body, named):
    store: Store = writable["store"]
    before = store.count_jobs()
    with connect(writable["url"], TOKEN) as client:
        response = client.post(path, json=body)
    if response.status_code == 202:  # taken after all: let its run end before the test fails
        wait_for(store, response.json()["id"])
    assert named in problem(response, 422)
    assert store.count_jobs() == before


# The OpenAPI document


def test_the_openapi_document_lists_every_route(client):
    document = client.get("/openapi.json").json()
    assert {path: set(operations) for path, operations in document["paths"].items()} == ROUTES
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            secured = operation.get("security") == [{"HTTPBearer": []}]
            assert secured == (method == "post" and path in ("/jobs", "/tournaments")), (method, path)
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower() and "/openapi.json" in docs.text


def test_the_openapi_document_gives_every_error_as_a_problem(client):
    """Every error the app sends is `{"error": ...}` (validation errors included): the document must say so,
    not FastAPI's default `{"detail": [...]}` for a 422."""
    document = client.get("/openapi.json").json()
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    if schema != {"$ref": "#/components/schemas/Problem"}:
                        wrong.append(f"{method.upper()} {path} {code}: {schema}")
    assert wrong == []


# Stopping the server


def test_stopping_the_server_interrupts_an_in_process_job_which_resume_continues(tmp_path):
    database = tmp_path / "stopped.db"
    settings = make_settings(database)
    store = Store(settings.database_url)
    with serving(create_app(settings)) as url, connect(url, TOKEN) as client:
        response = client.post("/jobs", json={"scenario": "ai3_plugins", "generations": 200, "attempts": 1})
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 30
        while not store.lineage(job_id):
            assert time.monotonic() < deadline, "the job wrote no candidate"
            time.sleep(0.05)
    job = store.job(job_id)  # the server has stopped: its shutdown waited for the run
    assert job.status == "interrupted"
    assert f"`evolver resume {job_id}`" in job.error and "server stopped" in job.error
    kept = [(row.id, row.key, row.code_hash, row.score) for row in store.lineage(job_id)]
    assert 1 <= len(kept) < 200

    class EnoughError(Exception):
        """Two more candidates: the run continues, no need to wait for its 200 generations."""

    def two_more(progress) -> None:
        if len(store.lineage(job_id)) >= len(kept) + 2:
            raise EnoughError

    with SandboxPool(1) as pool:
        engine = Engine(store, settings, pool)
        engine.resume(job_id)
        assert store.job(job_id).status == "running"
        with pytest.raises(EnoughError):
            engine.run(job_id, two_more)
    after = [(row.id, row.key, row.code_hash, row.score) for row in store.lineage(job_id)]
    assert after[: len(kept)] == kept and len(after) >= len(kept) + 2
    assert len({key for _, key, _, _ in after}) == len(after)  # no try written twice
    store.close()


def test_stopping_the_server_waits_a_bounded_time_for_a_slow_model_and_marks_its_job_interrupted(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "SHUTDOWN_GRACE", 1.0)
    thinking = wire.openai_reply("```python\ndef fn(i, v, r, s, p):\n    return None\n```")
    slow = wire.Response(200, thinking.body, delay=60)
    with WireServer(slow) as model:
        settings = make_settings(
            tmp_path / "slow.db", OPENAI_API_KEY="k", openai_base_url=f"{model.url}/v1", request_timeout=120
        )
        store = Store(settings.database_url)
        with serving(create_app(settings)) as url, connect(url, TOKEN) as client:
            response = client.post("/jobs", json={"scenario": "ai3_plugins", "models": ["openai:gpt-4o-mini"]})
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            deadline = time.monotonic() + 30
            while not model.requests:  # the model is thinking: the run is inside a call
                assert time.monotonic() < deadline, "the model was never called"
                time.sleep(0.02)
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 10  # not the minute the model takes
        job = store.job(job_id)
        assert job.status == "interrupted" and f"`evolver resume {job_id}`" in job.error
        assert store.lineage(job_id) == []
        store.close()
