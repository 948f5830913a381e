"""`evolver verify --queue` through a real redis-server and real Celery worker processes: a study's simulations go to
the workers in chunks (`evolver.simulate_runs`) and come back bit for bit what they are in-process, also when the
worker running them is killed with SIGKILL and a new one takes over; an adversary's job runs on the workers too.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import celery_worker
import pytest
import redis
import redis_server
from typer.testing import CliRunner

from evolver.cli import app
from evolver.store import Store
from evolver.studies import CHUNK

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WALK = ROOT / "tests" / "evolver" / "data" / "random_walk.py"
EXIT_SCAM = "No risk of exit scam after IDO"
SUCCEEDED = re.compile(r"Task evolver\.simulate_runs\[([0-9a-f-]+)\] succeeded")
RECEIVED = re.compile(r"Task evolver\.simulate_runs\[([0-9a-f-]+)\] received")
CURVE = ("bonding_curve", "--spec", "bond.price >= 0.32", "--spec", "bond.price >= 0.01 at every day",
         "--years", "0.2")  # fmt: skip


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def read_json(path: Path):
    return json.loads(path.read_text())


def chunks_run(log: Path) -> list[str]:
    """The ids of the `evolver.simulate_runs` tasks the worker logged as succeeded."""
    return SUCCEEDED.findall(log.read_text(errors="replace"))


def received(log: Path) -> list[str]:
    """The ids of the `evolver.simulate_runs` tasks the worker logged as received."""
    return RECEIVED.findall(log.read_text(errors="replace"))


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with redis_server.running() as url:
        yield url


@pytest.fixture(scope="module")
def served(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """One worker of one process for the module's tests that need no kill; its settings and its log."""
    root = tmp_path_factory.mktemp("served")
    env = {
        "EVOLVER_BROKER_URL": broker,
        "EVOLVER_DATABASE_URL": f"sqlite:///{root / 'lineage.db'}",
        "EVOLVER_TASK_TIME_LIMIT": "20",
        "EVOLVER_VISIBILITY_TIMEOUT": "25",
        "EVOLVER_SANDBOX_WORKERS": "1",
    }
    with celery_worker.running(env, root / "worker.log"):
        yield env, root / "worker.log"


@pytest.fixture
def env(served, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI sees what the worker sees."""
    settings, _ = served
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return settings


def in_process(monkeypatch: pytest.MonkeyPatch, database: Path, *args: str | Path) -> None:
    """`args` run here with no broker, on a store of their own."""
    with monkeypatch.context() as local:
        local.delenv("EVOLVER_BROKER_URL", raising=False)
        local.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{database}")
        ok(*args)


def test_a_queued_matrix_is_the_in_process_matrix_and_ran_on_the_worker(env, served, tmp_path, monkeypatch):
    _, log = served
    before = set(chunks_run(log))
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    result = ok("verify", "ocean_v3", "--runs", "40", "--queue", "--json", queued)
    ran = [task for task in chunks_run(log) if task not in before]
    assert len(ran) == math.ceil(40 / CHUNK)  # every chunk ran on the worker, each once
    in_process(monkeypatch, tmp_path / "here.db", "verify", "ocean_v3", "--runs", "40", "--json", here)
    assert read_json(queued) == read_json(here)  # every run's seed and KPI, bit for bit (JSON keeps a float's repr)
    assert "✓" in result.stdout or "✗" in result.stdout
    assert redis.Redis.from_url(env["EVOLVER_BROKER_URL"]).llen("evolver") == 0  # nothing left queued


def test_queued_spec_studies_read_the_recorded_columns_as_in_process(env, served, tmp_path, monkeypatch):
    """The stats columns a spec reads (at the end and at every day) come back from the worker as recorded here;
    the corner search sends its corners as overrides."""
    _, log = served
    before = set(chunks_run(log))
    args = (*CURVE, "--runs", "20", "--corner", "bond_mid=300000,500000,700000", "--corner", "bond_b=0.000005,0.00002")
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    ok("verify", *args, "--queue", "--json", queued)
    assert len(set(chunks_run(log)) - before) >= math.ceil(20 / CHUNK) + 1  # the yield's chunks and the corners'
    in_process(monkeypatch, tmp_path / "here.db", "verify", *args, "--json", here)
    assert read_json(queued) == read_json(here)
    assert 0 < read_json(here)["yield"]["passes"] < 20


def test_a_scenario_file_is_verified_on_the_worker(env, served, tmp_path, monkeypatch):
    _, log = served
    before = set(chunks_run(log))
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    ok("verify", WALK, "--runs", "20", "--queue", "--json", queued)
    assert len(set(chunks_run(log)) - before) == math.ceil(20 / CHUNK)
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
    """SIGKILL to the whole worker while it runs a chunk: late acks keep that chunk unacknowledged, so once the
    visibility timeout has passed a second worker runs it (and the chunk still queued), and the study ends as it does
    in-process. A broker of its own: the module's worker must not take the chunks."""
    queued, here = tmp_path / "queued.json", tmp_path / "here.json"
    args = ["verify", "ocean_v3", "--runs", str(3 * CHUNK), "--years", "0.3"]  # a chunk takes about a second
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with redis_server.running() as broker:
        env = {
            "EVOLVER_BROKER_URL": broker,
            "EVOLVER_DATABASE_URL": f"sqlite:///{tmp_path / 'lineage.db'}",
            "EVOLVER_TASK_TIME_LIMIT": "5",
            "EVOLVER_VISIBILITY_TIMEOUT": "6",
            "EVOLVER_BROKER_TRANSPORT_OPTIONS": '{"unacked_restore_interval": 1, "unacked_restore_throttle": 1}',
        }
        with celery_worker.running(env, first_log) as first:
            study = subprocess.Popen(
                [str(Path(sys.executable).with_name("evolver")), *args, "--queue", "--json", str(queued)], cwd=ROOT,
                env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 60
                while len(received(first_log)) < 2:  # the first chunk done, the second taken: it is running
                    assert study.poll() is None, study.communicate()
                    assert time.monotonic() < deadline, first_log.read_text()
                    time.sleep(0.01)
                first.kill()
                done_first, (_, running) = chunks_run(first_log), received(first_log)
                with celery_worker.running(env, second_log):
                    out, err = study.communicate(timeout=60)
            finally:
                if study.poll() is None:
                    study.kill()
    assert study.returncode == 0, err
    assert "design matrix: 48 runs each" in out and f"wrote {queued}" in err
    assert len(done_first) == 1 and running not in done_first  # killed mid-study, mid-chunk
    done_second = chunks_run(second_log)
    assert running in done_second and len(done_first) + len(done_second) == 3  # redelivered, and nothing run twice
    in_process(monkeypatch, tmp_path / "here.db", *args, "--json", here)
    assert read_json(queued) == read_json(here)
