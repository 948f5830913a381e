"""Scenarios pinned to their job: a job from a scenario file runs, reads and exports what was submitted, from any
folder, whatever happens to the file afterwards; and reading a store never creates one.

A job's scenario is the text stored with it at submit (jobs.scenario_source, with its sha256): `evolver resume`,
a Celery worker, the HTTP API and the read commands all use it, in another working directory, after the file
was edited, broken or deleted. Every run is compared with the same spec run uninterrupted on the original file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import celery_worker
import httpx
import pytest
import redis_server
from api_server import make_settings, serving
from sqlalchemy import create_engine, text
from test_cli import invoke
from test_interrupts import outcome

import simcore
from evolver.api import create_app
from evolver.engine import Engine
from evolver.errors import EvolverError, Interrupted
from evolver.job import JobSpec
from evolver.pinning import job_scenario
from evolver.settings import Settings
from evolver.state import interrupted
from evolver.store import Store
from sandbox import SandboxPool

ORIGINAL = (Path(simcore.__file__).parent / "scenarios" / "ai3_plugins.py").read_text()
# the job every run here is compared on: two models (so there are beats), repairs, three generations
MODELS = ("local:gp", "local:random")
SPEC = {"models": MODELS, "generations": 3, "attempts": 2}
EVOLVE = ("--model", "local:gp", "--model", "local:random", "--generations", "3", "--attempts", "2")
# edits after submit that would change every score, or stop the scenario from loading at all
RICHER = ORIGINAL.replace('"wallet": {"USDC": 50, "AI": 0}', '"wallet": {"USDC": 5000, "AI": 0}')
BROKEN = ORIGINAL + "\nraise RuntimeError('edited after submit')\n"


@pytest.fixture(scope="module")
def reference(pool: SandboxPool, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """SPEC run in-process, uninterrupted, on the original file (named as the jobs' file is) in a store of its own."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "mine.py").write_text(ORIGINAL)
    store = Store(f"sqlite:///{folder / 'reference.db'}")
    store.upgrade()
    spec = JobSpec(scenario=str(folder / "mine.py"), **SPEC)
    job_id = Engine(store, Settings(broker_url=None), pool).execute(spec)
    expected = outcome(store, job_id)
    store.close()
    return expected


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """`a` holds the user's scenario file `mine.py` (a copy of ai3_plugins) and is the working directory; `b` is
    another folder, holding a `mine.py` that raises when loaded (nothing may load it); `orig` keeps the original
    text. The store is a SQLite file in neither, named by an absolute URL; no broker."""
    paths = {name: tmp_path / name for name in ("a", "b", "orig")}
    for path in paths.values():
        path.mkdir()
    (paths["a"] / "mine.py").write_text(ORIGINAL)
    (paths["orig"] / "mine.py").write_text(ORIGINAL)
    (paths["b"] / "mine.py").write_text("raise RuntimeError('the wrong mine.py was loaded')\n")
    paths["db"] = tmp_path / "x.db"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{paths['db']}")
    monkeypatch.setenv("EVOLVER_SANDBOX_WORKERS", "1")
    monkeypatch.delenv("EVOLVER_BROKER_URL", raising=False)
    monkeypatch.chdir(paths["a"])
    return paths


def ok(*args: str | Path):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def stored_score(path: Path) -> float:
    """The score an exported player's header states, as stored ("Score: 50.99 (usdc) on seeds ...")."""
    line = next(line for line in path.read_text().splitlines() if line.startswith("Score: "))
    return float(line.split()[1])


def evaluated_score(scenario: Path, player: Path, out: Path) -> float:
    """`evolver evaluate SCENARIO PLAYER` on the job's seed and years: its score."""
    ok("evaluate", scenario, player, "--json", out)
    data = json.loads(out.read_text())
    assert data["status"] == "ok", data["error"]
    return data["score"]


def test_a_file_job_is_read_and_exported_from_another_folder(folders, monkeypatch):
    ok("evolve", "mine.py", "--generations", "2")
    (folders["a"] / "mine.py").unlink()
    monkeypatch.chdir(folders["b"])
    assert "evolve 1: mine.py, max:usdc, done" in ok("status", "1").output
    assert "job 1: mine.py, max:usdc, done" in ok("lineage", "1").output
    assert "mine.py" in ok("jobs").output
    ok("show", "1")
    ok("export", "--job", "1", "--best", "-o", "out.py")
    exported = (folders["b"] / "out.py").read_text()
    assert exported.startswith('"""Evolved player for the scenario \'mine.py\'.')
    assert evaluated_score(folders["orig"] / "mine.py", folders["b"] / "out.py", folders["b"] / "e.json") == (
        stored_score(folders["b"] / "out.py")
    )


def unfinished_job(pool: SandboxPool, url: str, status: str) -> int:
    """SPEC on `mine.py` (relative, as a user types it) submitted, and stopped after its first try: `interrupted`
    as by a signal, or `failed` as by an error."""
    store = Store(url)
    store.upgrade()
    engine = Engine(store, Settings(broker_url=None), pool)
    job_id = engine.submit(JobSpec(scenario="mine.py", **SPEC))
    step = engine.advance(job_id).steps[0]
    engine.propose(step)
    engine.evaluate(step)
    if status == "interrupted":
        interrupted(store, job_id, Interrupted("SIGTERM"))
    else:
        engine.fail(job_id, RuntimeError("the machine went away"))
    assert store.job(job_id).status == status
    store.close()
    return job_id


@pytest.mark.parametrize(
    ("change", "status"),
    [("richer wallet", "interrupted"), ("raises on load", "failed"), ("deleted", "interrupted")],
)
def test_resume_runs_the_scenario_as_submitted_whatever_became_of_its_file(
    folders, pool, reference, change, status, monkeypatch
):
    url = f"sqlite:///{folders['db']}"
    job_id = unfinished_job(pool, url, status)
    mine = folders["a"] / "mine.py"
    if change == "deleted":
        mine.unlink()
    else:
        mine.write_text(RICHER if change == "richer wallet" else BROKEN)
    resumed = ok("resume", str(job_id))  # in the folder where `mine.py` now names the changed file
    assert f"job {job_id}: done" in resumed.output
    store = Store(url)
    assert outcome(store, job_id) == reference
    monkeypatch.chdir(folders["b"])
    ok("export", "--job", str(job_id), "--best", "-o", "player.py")
    player = folders["b"] / "player.py"
    score = evaluated_score(folders["orig"] / "mine.py", player, folders["b"] / "orig.json")
    assert score == stored_score(player) == store.best(job_id, "max").score
    if change == "richer wallet":  # the edit matters: had the job run the changed file, it would score otherwise
        assert evaluated_score(mine, player, folders["b"] / "richer.json") != score
    store.close()


def test_the_api_serves_a_file_job_from_another_folder_after_the_file_is_gone(folders, pool, monkeypatch):
    store = Store(f"sqlite:///{folders['db']}")
    store.upgrade()
    job_id = Engine(store, Settings(broker_url=None), pool).execute(JobSpec(scenario="mine.py", generations=2))
    best, (candidates, _) = store.best(job_id, "max"), store.count_candidates(job_id)
    store.close()
    (folders["a"] / "mine.py").unlink()
    monkeypatch.chdir(folders["b"])
    with serving(create_app(make_settings(folders["db"]))) as url, httpx.Client(base_url=url, timeout=60) as client:
        job = client.get(f"/jobs/{job_id}")
        lineage = client.get(f"/jobs/{job_id}/lineage")
        chart = client.get(f"/candidates/{best.id}/chart.png")  # the candidate run again, on the pinned scenario
    assert job.status_code == 200, job.text
    assert (job.json()["scenario"], job.json()["status"], job.json()["best"]) == ("mine.py", "done", best.score)
    assert lineage.status_code == 200 and lineage.json()["total"] == candidates
    assert chart.status_code == 200, chart.text
    assert chart.headers["content-type"] == "image/png" and chart.content.startswith(b"\x89PNG")


@pytest.fixture
def queue_env(folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh redis-server as the broker, and the settings a worker and the CLI share."""
    with redis_server.running() as broker:
        yield celery_worker.queue_settings(broker, folders["db"], monkeypatch)


@pytest.mark.integration
def test_a_worker_elsewhere_runs_a_queued_file_job_whose_file_was_deleted(folders, queue_env, reference, tmp_path):
    queued = ok("evolve", "mine.py", *EVOLVE, "--queue")
    job_id = int(queued.output.split()[1])
    (folders["a"] / "mine.py").unlink()  # before any worker could read it
    elsewhere = tmp_path / "w"
    elsewhere.mkdir()
    shutil.copy(folders["b"] / "mine.py", elsewhere / "mine.py")  # a `mine.py` there too, which must not be loaded
    worker = celery_worker.Worker(queue_env, tmp_path / "worker.log", cwd=elsewhere)
    store = Store(queue_env["EVOLVER_DATABASE_URL"])
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 120
        while (job := store.job(job_id)).status not in ("done", "failed", "stopped"):
            assert time.monotonic() < deadline, f"job {job_id} still {job.status} after 120 s"
            time.sleep(0.05)
    finally:
        worker.kill()
    assert job.status == "done", f"{job.error}\n{(tmp_path / 'worker.log').read_text()[-3000:]}"
    assert outcome(store, job_id) == reference
    store.close()


def test_the_pinned_copy_holds_the_stored_text_and_a_tampered_one_is_refused(folders, monkeypatch):
    url = f"sqlite:///{folders['db']}"
    store = Store(url)
    store.upgrade()
    engine = Engine(store, Settings(broker_url=None))
    mine, builtin, upgraded = (engine.submit(JobSpec(scenario=name)) for name in ("mine.py", *["ai3_plugins"] * 2))
    (folders["a"] / "mine.py").unlink()
    monkeypatch.chdir(folders["b"])

    job = store.job(mine)
    assert (job.scenario, job.scenario_source) == ("mine.py", ORIGINAL)
    assert job.scenario_hash == hashlib.sha256(ORIGINAL.encode()).hexdigest()
    copy = Path(job_scenario(job))
    assert copy.is_absolute() and copy.read_text() == ORIGINAL
    assert job_scenario(store.job(builtin)) == "ai3_plugins"

    database = create_engine(url)
    older = ORIGINAL.replace('"supply": 10000', '"supply": 20000')  # the built-in as an older release had it
    with database.begin() as connection:
        connection.execute(
            text("UPDATE jobs SET scenario_source = :source, scenario_hash = :digest WHERE id = :id"),
            {"source": older, "digest": hashlib.sha256(older.encode()).hexdigest(), "id": upgraded},
        )
        tampered = text("UPDATE jobs SET scenario_source = :source WHERE id = :id")  # its hash left as it was
        connection.execute(tampered, {"source": BROKEN, "id": mine})
    database.dispose()
    pinned_older = job_scenario(store.job(upgraded))
    assert pinned_older != "ai3_plugins" and Path(pinned_older).read_text() == older

    with pytest.raises(EvolverError, match=r"stored text of scenario 'mine\.py' does not match its hash"):
        job_scenario(store.job(mine))
    refused = invoke("resume", str(mine))
    assert refused.exit_code == 2
    assert "error: the stored text of scenario 'mine.py' does not match its hash" in refused.output
    assert store.job(mine).status == "pending" and store.count_candidates(mine) == (0, 0)
    store.close()


@pytest.mark.parametrize(
    "args",
    [
        ("jobs",),
        ("status", "1"),
        ("lineage", "1"),
        ("show", "1"),
        ("watch", "1"),
        ("export", "--job", "1", "--best", "-o", "player.py"),
    ],
    ids=lambda args: args[0],
)
def test_a_read_command_in_a_folder_without_a_store_creates_none(tmp_path, monkeypatch, args):
    monkeypatch.delenv("EVOLVER_DATABASE_URL", raising=False)  # the default: evolver.db in the working directory
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "error: no lineage store at sqlite:///evolver.db yet" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"vars = {}\n# \xff\xfe not UTF-8\n", "not UTF-8 text"),
        (b"#" * 1_000_001, "at most 1,000,000 are stored"),
    ],
    ids=["not-utf8", "too-large"],
)
def test_a_scenario_file_that_cannot_be_pinned_is_refused_with_nothing_stored(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVOLVER_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "odd.py").write_bytes(content)
    result = invoke("evolve", "odd.py", "--generations", "1")
    assert result.exit_code == 2 and message in result.output, result.output
    assert Store(f"sqlite:///{tmp_path / 'x.db'}").count_jobs() == 0


def test_a_job_records_its_components_and_refuses_to_run_one_whose_definition_changed(
    pool: SandboxPool, tmp_path: Path
) -> None:
    """A pinned text names a component, not its code: the job stores each component's `kind@version#hash` at
    submit, and a run finding another definition stops with the component named, before anything runs."""
    database = tmp_path / "components.db"
    store = Store(f"sqlite:///{database}")
    store.upgrade()
    job_id = Engine(store, Settings(broker_url=None), pool).submit(
        JobSpec(scenario="bonding_curve", models=("local:gp",), generations=1)
    )
    refs = simcore.load_scenario("bonding_curve").components
    assert refs["bond"].startswith("sigmoid_bonding_curve@1#")
    assert store.job(job_id).scenario_components == refs
    older = refs["bond"][:-4] + "0000" if not refs["bond"].endswith("0000") else refs["bond"][:-4] + "1111"
    with create_engine(f"sqlite:///{database}").begin() as connection:
        connection.execute(text("UPDATE jobs SET scenario_components = :refs"), {"refs": json.dumps({"bond": older})})
    store = Store(f"sqlite:///{database}")
    with pytest.raises(EvolverError, match=rf"bond: {older} -> {refs['bond']}\): a component's definition changed"):
        Engine(store, Settings(broker_url=None), pool).run(job_id)
    assert store.lineage(job_id) == []
