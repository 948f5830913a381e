"""Where the API's jobs run: on the Celery workers when a broker is configured, otherwise here, each in a
background thread, all sharing one sandbox pool (which also draws the candidates' charts).

Stopping the server interrupts the in-process runs between two candidates: each is marked `interrupted` with
the way to continue it (`evolver resume ID`), and nothing it finished is lost. The server waits at most
SHUTDOWN_GRACE seconds for them; a run still busy then (a slow model call) is marked interrupted all the same,
and whatever it finishes later is stored under its key, for the resume to find.
"""

from __future__ import annotations

import logging
import threading
import time

from evolver.engine import Engine, Progress
from evolver.errors import Interrupted
from evolver.job import JobSpec
from evolver.launch import submit
from evolver.queue import TaskQueue
from evolver.settings import Settings
from evolver.state import interrupted
from evolver.store import Store
from sandbox import SandboxPool

log = logging.getLogger(__name__)
STOPPED = "the server stopped"
SHUTDOWN_GRACE = 10.0  # seconds the server's shutdown waits for its runs to reach a candidate's end


class ServerStoppedError(Interrupted):
    """The server stopped while the job ran here."""


class Runner:
    """Submits specs the way the settings say and owns what runs in this process."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.queue = TaskQueue(settings) if settings.broker_url else None
        self._pool: SandboxPool | None = None
        self._lock = threading.Lock()
        self._threads: dict[threading.Thread, int] = {}  # a run here -> its job
        self._stopping = threading.Event()

    @property
    def pool(self) -> SandboxPool:
        """The sandbox pool, started on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(self.settings.sandbox_workers)
            return self._pool

    def submit(self, spec: JobSpec) -> int:
        """Stores the spec and starts it: on the workers, or in a thread here. Returns the job's id."""
        job_id = submit(self.store, self.settings, spec, self.queue)
        if self.queue is None:
            thread = threading.Thread(target=self._run, args=(job_id,), name=f"evolver-job-{job_id}", daemon=True)
            with self._lock:
                self._threads = {t: job for t, job in self._threads.items() if t.is_alive()} | {thread: job_id}
            thread.start()
        return job_id

    def close(self) -> None:
        """Interrupts the in-process runs, waits for them (SHUTDOWN_GRACE at most), and stops the sandbox pool."""
        self._stopping.set()
        with self._lock:
            threads = dict(self._threads)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for thread, job_id in threads.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                interrupted(self.store, job_id, STOPPED)
        if self._pool is not None:
            self._pool.close()
        if self.queue is not None:
            self.queue.close()

    def _run(self, job_id: int) -> None:
        try:
            Engine(self.store, self.settings, self.pool).run(job_id, self._check)
        except (Exception, Interrupted) as exc:  # the job is marked failed or interrupted (if the store answers)
            log.warning("job %d ended in this process with %s: %s", job_id, type(exc).__name__, exc)

    def _check(self, progress: Progress) -> None:
        if self._stopping.is_set():
            raise ServerStoppedError(STOPPED)
