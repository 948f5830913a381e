"""An adversary publisher evolved for Ocean Market V3 (`ocean_v3`) by the offline model (`local:gp`): through the
CLI on a temp SQLite store, its best candidate stored with its lineage, exported and re-scored in other processes
(the sandbox) and in this one to exactly the stored numbers, its `extraction` on each seed; a job is deterministic
for its seed, and the same job through a real redis-server and Celery worker gives exactly what it gives here."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celery_worker
import pytest
import redis
import redis_server
from test_cli import invoke

import simcore
from evolver.store import Store

SCENARIO = "ocean_v3"
JOB = ("evolve", SCENARIO, "--model", "local:gp", "--generations", "3")


def ok(*args: str | Path) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def offline(monkeypatch: pytest.MonkeyPatch, database: Path) -> str:
    """The CLI's settings for an offline job on a fresh SQLite store at `database`; its URL."""
    url = f"sqlite:///{database}"
    monkeypatch.setenv("EVOLVER_DATABASE_URL", url)
    monkeypatch.setenv("EVOLVER_SANDBOX_WORKERS", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("EVOLVER_BROKER_URL", raising=False)
    return url


def outcome(url: str, job_id: int) -> list[tuple[Any, ...]]:
    """What a job produced, independent of row ids and write order: each try's key, code, status and scores."""
    store = Store(url)
    try:
        return sorted(
            (c.key.split(":", 1)[1], c.model_id, c.op, c.code_hash, c.status, c.score, c.improved, c.heldout_score,
             c.heldout_status)
            for c in store.lineage(job_id)
        )  # fmt: skip
    finally:
        store.close()


def exported_fn(path: Path) -> Any:
    """The `fn` of an exported player file, imported here."""
    spec = importlib.util.spec_from_file_location("exported_player", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fn


def test_an_adversary_job_stores_its_best_with_lineage_and_its_export_rescores_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = offline(monkeypatch, tmp_path / "job.db")
    assert "job 1: done" in ok(*JOB)

    store = Store(url)
    best, rows = store.best(1, "max"), store.lineage(1)
    store.close()
    assert best is not None and best.status == "ok" and best.model_id == "local:gp" and best.score is not None
    assert best.heldout_status == "ok" and best.heldout_score is not None  # scored on the game's held-out seeds too
    by_id = {row.id: row for row in rows}
    chain = [best]
    while chain[-1].parent_id is not None:  # its lineage, back to the init it grew from, all in this job
        chain.append(by_id[chain[-1].parent_id])
    assert chain[-1].op == "init" and all(row.job_id == 1 for row in chain)
    assert {"extraction", "incentive", "ido_runup", "eq_swing", "decoupling", "agents_stake_swing"} <= set(best.metrics)

    player, report = tmp_path / "player.py", tmp_path / "evaluation.json"
    ok("export", "--job", "1", "--best", "-o", player)
    header = player.read_text()
    assert f"Lineage: {' -> '.join(f'{row.op} #{row.id} (local:gp)' for row in reversed(chain))}" in header
    ok("evaluate", SCENARIO, player, "--json", report)
    evaluation = json.loads(report.read_text())
    game = simcore.load_scenario(SCENARIO).game
    assert game is not None and evaluation["status"] == "ok" and evaluation["seeds"] == list(game.train)
    assert evaluation["score"] == best.score and evaluation["metrics"] == best.metrics  # bit for bit, sandboxed
    per_seed = evaluation["per_seed"]
    assert len(per_seed) == len(game.train) and all("extraction" in metrics for metrics in per_seed)

    fn = exported_fn(player)  # and here, outside the sandbox: the same numbers, seed by seed
    for seed, metrics in zip(game.train, per_seed, strict=True):
        played = simcore.play(SCENARIO, fn, seed=seed).metrics
        assert played == metrics, seed
        assert played["extraction"] == metrics["extraction"]


def test_the_job_is_deterministic_for_its_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of the same job on fresh stores make the same tries: keys, code, statuses and scores."""
    first = offline(monkeypatch, tmp_path / "first.db")
    ok(*JOB)
    second = offline(monkeypatch, tmp_path / "second.db")
    ok(*JOB)
    assert outcome(first, 1) == outcome(second, 1)
    assert any(row[4] == "ok" for row in outcome(first, 1))


# --- the same job through the queue ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with redis_server.running() as url:
        yield url


def wait_done(url: str, job_id: int, timeout: float = 120) -> None:
    store = Store(url)
    try:
        deadline = time.monotonic() + timeout
        while (job := store.job(job_id)) is None or job.status not in ("done", "failed", "stopped"):
            assert time.monotonic() < deadline, f"job {job_id} still {job and job.status} after {timeout} s"
            time.sleep(0.1)
        assert job.status == "done", job.error
    finally:
        store.close()


@pytest.mark.integration
def test_the_job_through_a_real_queue_gives_what_it_gives_in_process(
    broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_process = offline(monkeypatch, tmp_path / "in-process.db")
    ok(*JOB)
    expected = outcome(in_process, 1)

    redis.Redis.from_url(broker).flushall()
    env = celery_worker.queue_settings(broker, tmp_path / "queued.db", monkeypatch)
    with celery_worker.running(env, tmp_path / "worker.log", concurrency=2):
        submitted = ok(*JOB, "--queue")
        job_id = int(submitted.split()[1])
        wait_done(env["EVOLVER_DATABASE_URL"], job_id)
    assert outcome(env["EVOLVER_DATABASE_URL"], job_id) == expected
    store = Store(env["EVOLVER_DATABASE_URL"])
    queued_best, store_in_process = store.best(job_id, "max"), Store(in_process)
    reference_best = store_in_process.best(1, "max")
    store.close()
    store_in_process.close()
    assert queued_best is not None and reference_best is not None
    assert queued_best.score == reference_best.score and queued_best.metrics == reference_best.metrics
    assert "evolver.evaluate" in (tmp_path / "worker.log").read_text()  # the worker scored them, not this process
