"""Opening the store and submitting a job or tournament: the one path the CLI and the HTTP API share.

With a queue the broker is checked before anything is written and the job is removed again if it cannot be
sent, so an unreachable broker leaves no job behind; without one the job is stored `pending` for the caller to
run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolver.errors import StoreError
from evolver.settings import Settings
from evolver.store import Store
from evolver.store.database import masked
from evolver.store.schema import check_schema, prepare_for_writes

if TYPE_CHECKING:
    from evolver.job import JobSpec
    from evolver.queue import TaskQueue


def open_store(settings: Settings, *, write: bool = False) -> Store:
    """The lineage store, at the schema this code needs, else a StoreError saying what to run.

    To read, nothing is created or migrated. To write (submitting jobs), a SQLite store or an empty database is
    brought to the current schema (a new SQLite file is created); an older PostgreSQL store is not.
    """
    store = Store(settings.database_url)
    try:
        prepare_for_writes(store) if write else check_schema(store)
    except StoreError:
        store.close()
        raise
    return store


def submit(store: Store, settings: Settings, spec: JobSpec, queue: TaskQueue | None) -> int:
    """Checks and stores the spec; with a queue, sends its first step to the workers. Returns the job's id."""

    from evolver.engine import Engine  # the engine and the queue load when a job is submitted, not when one is read
    from evolver.queue import QueueError

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
