"""The tasks: each a few lines calling evolver.engine through one engine per worker process.

A task that raises marks its job failed (`evolver resume ID` continues it), except when the broker is away
(a restart): then it retries with backoff, and should that fail too the sweeper resends the job's steps. A
task killed with its process is delivered again (late acks); whatever it had written is found and kept.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery.signals import worker_process_shutdown

from evolver import queue, studies
from evolver.engine import Engine
from evolver.plan import Step
from evolver.settings import Settings
from evolver.store import Store
from evolver.store.schema import check_schema
from sandbox import SandboxPool
from worker.app import app


@functools.cache
def _pool() -> SandboxPool:
    return SandboxPool(workers=1)  # a worker process runs one task at a time


@functools.cache
def _engine() -> Engine:
    settings = Settings()
    store = Store(settings.database_url)
    check_schema(store)  # never migrates: `evolver db upgrade` does, with the workers stopped
    return Engine(store, settings, _pool())


@functools.cache
def _queue() -> queue.TaskQueue:
    return queue.TaskQueue(_engine().settings, app)


@worker_process_shutdown.connect
def _close(**_: Any) -> None:
    if _pool.cache_info().currsize:
        _pool().close()


@contextmanager
def _failing(job_id: int) -> Iterator[Engine]:
    engine = _engine()
    try:
        yield engine
    except queue.OUTAGES:
        raise
    except Exception as exc:
        engine.fail(job_id, exc)
        raise


RETRY = {"autoretry_for": queue.OUTAGES, "retry_backoff": 1, "retry_backoff_max": 30, "max_retries": 10}


@app.task(name=queue.ADVANCE, bind=True, **RETRY)
def advance(self: Any, job_id: int) -> None:
    """Moves the job along and sends the steps it now waits for (claimed under this task's id: see dispatch)."""
    with _failing(job_id) as engine:
        _queue().dispatch(engine.advance(job_id).steps, owner=self.request.id or "")


@app.task(name=queue.PROPOSE, **RETRY)
def propose(step: dict[str, Any]) -> None:
    """One model call (or its cached reply)."""
    with _failing(step["job_id"]) as engine:
        engine.propose(Step(**step))


@app.task(name=queue.EVALUATE, **RETRY)
def evaluate(step: dict[str, Any]) -> int | None:
    """One sandbox evaluation, stored as the step's candidate."""
    with _failing(step["job_id"]) as engine:
        return engine.evaluate(Step(**step))


@app.task(name=queue.SWEEP)
def sweep() -> list[int]:
    """Kicks the running jobs that stalled (a lost message, a worker gone for good)."""
    return queue.sweep(_engine(), _queue())


@app.task(name=queue.EVALUATE_CODE, ignore_result=False)
def evaluate_code(code: str, scenario: str, seeds: list[int], years: float | None = None) -> dict[str, Any]:
    """One sandbox evaluation outside any job: its status, score, metrics and error (not the player's notes)."""
    return _pool().evaluate(code, scenario, seeds, years).to_dict() | {"notes": None}


@app.task(name=queue.SIMULATE_RUNS, ignore_result=False)
def simulate_runs(
    scenario: dict[str, str], jobs: list[list[Any]], years: float, seated: bool, columns: list[str] | None
) -> list[Any]:
    """A chunk of the runs of a verification study, a fuzz or a Monte Carlo (`evolver.studies.celery_runner`)."""
    return studies.simulate_runs(scenario, [(overrides, seed) for overrides, seed in jobs], years, seated, columns)
