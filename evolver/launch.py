"""Opening the store and submitting a job or tournament: the one path the CLI and the HTTP API share.

With a queue the broker is checked before anything is written and the job is removed again if it cannot be
sent, so an unreachable broker leaves no job behind; without one the job is stored `pending` for the caller to
run here.
"""

from __future__ import annotations

from evolver.engine import Engine
from evolver.job import JobSpec
from evolver.queue import QueueError, TaskQueue
from evolver.settings import Settings
from evolver.store import Store
from evolver.store.database import masked


def open_store(settings: Settings) -> Store:
    """The lineage store, migrated to the current schema (a new SQLite file is created on first use)."""
    store = Store(settings.database_url)
    store.upgrade()
    return store


def submit(store: Store, settings: Settings, spec: JobSpec, queue: TaskQueue | None) -> int:
    """Checks and stores the spec; with a queue, sends its first step to the workers. Returns the job's id."""
    if queue is not None:
        queue.check()
    job_id = Engine(store, settings).submit(spec)
    if queue is not None:
        try:
            queue.start(job_id)
        except Exception as exc:
            store.discard_job(job_id)
            raise QueueError(f"could not send job {job_id} to {masked(settings.broker_url or '')}: {exc}") from exc
    return job_id
