"""`evolver verify --queue` through a real redis-server and real Celery worker processes: a study's simulations go to
the workers in chunks (`evolver.simulate_runs`) and come back bit for bit what they are in-process, also when the
worker running them is killed with SIGKILL and a new one takes over; an adversary's job runs on the workers too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from queued import assert_killed_run_lost_nothing, chunks, in_process, invoke, ok, read_json, serving

from evolver.store import Store
from evolver.studies import CHUNK_BOUNDS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WALK = ROOT / "tests" / "evolver" / "data" / "random_walk.py"
EXIT_SCAM = "No risk of exit scam after IDO"
CHUNK = CHUNK_BOUNDS[0]  # a study of a few runs over one process: chunks of the fewest runs
CURVE = ("bonding_curve", "--spec", "bond.price >= 0.32", "--spec", "bond.price >= 0.01 at every day",
         "--years", "0.2")  # fmt: skip


@pytest.fixture(scope="module")
def served(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """One worker of one process for the module's tests that need no kill; its settings and its log."""
    with serving(broker, tmp_path_factory.mktemp("served")) as (env, (log,)):
        yield env, log


def test_a_queued_matrix_is_the_in_process_matrix_and_ran_on_the_worker(env, served, tmp_path, monkeypatch):
    _, log = served
    before = set(chunks(log))
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    result = ok("verify", "ocean_v3", "--runs", "40", "--queue", "--json", queued)
    ran = [task for task in chunks(log) if task not in before]
    assert len(ran) == math.ceil(40 / CHUNK)  # every chunk ran on the worker, each once
    in_process(monkeypatch, tmp_path / "here.db", "verify", "ocean_v3", "--runs", "40", "--json", here)
    assert read_json(queued) == read_json(here)  # every run's seed and KPI, bit for bit (JSON keeps a float's repr)
    assert "✓" in result.stdout or "✗" in result.stdout
    assert redis.Redis.from_url(env["EVOLVER_BROKER_URL"]).llen("evolver") == 0  # nothing left queued


def test_queued_spec_studies_read_the_recorded_columns_as_in_process(env, served, tmp_path, monkeypatch):
    """The stats columns a spec reads (at the end and at every day) come back from the worker as recorded here;
    the corner search sends its corners as overrides."""
    _, log = served
    before = set(chunks(log))
    args = (*CURVE, "--runs", "20", "--corner", "bond_mid=300000,500000,700000", "--corner", "bond_b=0.000005,0.00002")
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    ok("verify", *args, "--queue", "--json", queued)
    assert len(set(chunks(log)) - before) >= math.ceil(20 / CHUNK) + 1  # the yield's chunks and the corners'
    in_process(monkeypatch, tmp_path / "here.db", "verify", *args, "--json", here)
    assert read_json(queued) == read_json(here)
    assert 0 < read_json(here)["yield"]["passes"] < 20


def test_a_scenario_file_is_verified_on_the_worker(env, served, tmp_path, monkeypatch):
    _, log = served
    before = set(chunks(log))
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    ok("verify", WALK, "--runs", "20", "--queue", "--json", queued)
    assert len(set(chunks(log)) - before) == math.ceil(20 / CHUNK)
    in_process(monkeypatch, tmp_path / "here.db", "verify", WALK, "--runs", "20", "--json", here)
    assert read_json(queued) == read_json(here)
    assert read_json(here)["matrix"]["designs"][0]["scenario"] == "random_walk"


def test_a_scenario_file_named_relative_to_the_cli_is_found_by_the_worker(env, tmp_path, monkeypatch):
    (tmp_path / "walk.py").write_text(WALK.read_text())
    monkeypatch.chdir(tmp_path)  # the worker runs in the checkout
    result = invoke("verify", "walk.py", "--runs", "4", "--queue")
    assert result.exit_code == 0, result.output


def test_a_queued_adversary_job_runs_on_the_worker_and_completes_the_matrix(env, served, tmp_path, monkeypatch):
    _, log = served
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    args = ("verify", "ocean_1ss", "--runs", "4", "--adversary", "local:gp", "--generations", "2")
    result = ok(*args, "--queue", "--json", queued)
    (design,) = read_json(queued)["matrix"]["designs"]
    store = Store(env["EVOLVER_DATABASE_URL"])
    try:
        job = store.job(design["adversary"]["job"])
        lineage = store.lineage(job.id)
    finally:
        store.close()
    assert job.status == "done" and job.scenario == "ocean_1ss" and len(lineage) >= 2
    text = log.read_text(errors="replace")
    assert "evolver.advance[" in text and "evolver.evaluate[" in text  # the job's steps ran on the worker
    assert f"ocean_1ss: adversary job {job.id}" in result.stdout
    assert EXIT_SCAM in [cell["criterion"] for cell in design["cells"]]

    in_process(monkeypatch, tmp_path / "here.db", *args, "--json", here)
    (expected,) = read_json(here)["matrix"]["designs"]
    assert design["cells"] == expected["cells"]  # the same adversary evolved, scored on the same seeds
    assert design["adversary"]["score"] == expected["adversary"]["score"]


def test_a_worker_killed_mid_study_leaves_its_chunks_to_the_next(tmp_path, monkeypatch):
    """SIGKILL to the whole worker while it runs a chunk: a second worker runs it (and the chunk still queued), and
    the study ends as it does in-process."""
    args = ["verify", "ocean_v3", "--runs", str(3 * CHUNK), "--years", "0.3"]  # a chunk takes about a second
    assert_killed_run_lost_nothing(args, tmp_path, monkeypatch, "design matrix: 48 runs each")
