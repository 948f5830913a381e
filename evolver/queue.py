"""The queue as evolver sees it: the Celery configuration, submitting a job, and dispatching its steps.

Tasks are named, never imported (evolver does not import worker/): `evolver.advance` moves a job along and
dispatches its next steps, each a chain `evolver.propose` -> `evolver.evaluate` -> `evolver.advance`.
A step is claimed in Redis before it is sent, so the many `advance` calls that end a phase send it once;
a sweep or a resume sends the steps of a stalled job again regardless (repeating a step changes nothing).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import kombu.exceptions
import redis
from celery import Celery, chain

from evolver.engine import Engine
from evolver.errors import EvolverError
from evolver.plan import Step
from evolver.settings import Settings
from evolver.store.database import masked
from evolver.store.models import utcnow

ADVANCE, PROPOSE, EVALUATE, SWEEP = "evolver.advance", "evolver.propose", "evolver.evaluate", "evolver.sweep"
EVALUATE_CODE = "evolver.evaluate_code"  # one sandbox evaluation, outside any job (bench/queue.py)
SIMULATE_RUNS = "evolver.simulate_runs"  # a chunk of a study's, a fuzz's or a Monte Carlo's runs (evolver/studies.py)
QUEUE = "evolver"
PROCESSES_WAIT = 0.5  # seconds the workers have to say how many processes they run (an inspect waits it out)
OUTAGES = (redis.RedisError, kombu.exceptions.OperationalError)
"""Errors of a broker that is restarting or unreachable: a task retries, and its job stays running."""


class QueueError(EvolverError):
    """No broker configured, or the broker cannot be reached; the message says which URL and what to do."""


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings that lose nothing (see docs/DESIGN.md): late acks, JSON, a visibility timeout
    above the hard time limit everywhere Redis needs it, and children recycled against leaks."""
    broker = _broker(settings)
    transport = {"visibility_timeout": settings.visibility_timeout, **settings.broker_transport_options}
    return {
        "broker_url": broker,
        "result_backend": settings.result_backend or broker,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "visibility_timeout": settings.visibility_timeout,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_ignore_result": True,  # the store holds every outcome; tasks that return one say so
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.task_time_limit * 0.9,
        "worker_max_tasks_per_child": settings.max_tasks_per_child,
        "worker_max_memory_per_child": settings.max_memory_per_child,
        "task_default_queue": QUEUE,
        "task_publish_retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5},
        "result_expires": 24 * 3600,
        "beat_schedule": {"sweep": {"task": SWEEP, "schedule": settings.sweep_interval}},
    }


class TaskQueue:
    """Sends evolver's tasks to the broker of `settings` (EVOLVER_BROKER_URL)."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self.settings = settings
        if app is None:
            app = Celery("evolver", set_as_current=False)
            app.conf.update(celery_config(settings))
        self.app = app
        self._redis = redis.Redis.from_url(_broker(settings), socket_connect_timeout=3, socket_timeout=10)
        self._claim_seconds = int(settings.visibility_timeout) + 60

    def check(self) -> None:
        """Raises QueueError unless the broker answers now."""
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise QueueError(
                f"cannot reach the broker at {masked(_broker(self.settings))}: {exc}. Check EVOLVER_BROKER_URL and "
                "that redis-server is running, or leave out --queue to run in-process"
            ) from exc

    @functools.cached_property
    def processes(self) -> int:
        """The pool processes of the workers that answer within PROCESSES_WAIT seconds now (0 if none does)."""
        replies = self.app.control.inspect(timeout=PROCESSES_WAIT).stats() or {}
        return sum(int(stats.get("pool", {}).get("max-concurrency", 1)) for stats in replies.values())

    def start(self, job_id: int) -> None:
        """Hands a submitted job to the workers."""
        self.app.send_task(ADVANCE, args=(job_id,), queue=QUEUE)

    def dispatch(self, steps: Iterable[Step], force: bool = False, owner: str = "") -> int:
        """Sends each step not sent before (every step when `force`); returns how many were sent.

        A step is claimed for `owner` (the advance task's id) before it is sent. A task killed between the two is
        delivered again with the same id, finds its own claim, and sends the step: a claim never loses one.
        """
        sent = 0
        for step in steps:
            key = f"evolver:step:{step.key}"
            claimed = self._redis.set(key, owner or "1", nx=True, ex=self._claim_seconds)
            if not (claimed or force or (owner and self._redis.get(key) == owner.encode())):
                continue
            data = step.to_dict()
            chain(
                self.app.signature(PROPOSE, args=(data,), immutable=True, queue=QUEUE),
                self.app.signature(EVALUATE, args=(data,), immutable=True, queue=QUEUE),
                self.app.signature(ADVANCE, args=(step.job_id,), immutable=True, queue=QUEUE),
            ).apply_async()
            sent += 1
        return sent

    def close(self) -> None:
        self._redis.close()


def kick(engine: Engine, queue: TaskQueue, job_id: int) -> int:
    """Moves a job along from outside the workers (a resume, a sweep): every step it waits for is sent again."""
    return queue.dispatch(engine.advance(job_id).steps, force=True)


def sweep(engine: Engine, queue: TaskQueue) -> list[int]:
    """Kicks every pending or running job that made no progress for EVOLVER_STALE_AFTER seconds (a message
    lost, Redis restarted without its data, a submitting or in-process run that died); their ids."""
    before = utcnow() - timedelta(seconds=engine.settings.stale_after)
    stalled = engine.store.stalled(before)
    for job_id in stalled:
        kick(engine, queue, job_id)
        engine.store.set_job_status(job_id, "running", expected="running")  # not swept again before it is stale
    return stalled


def _broker(settings: Settings) -> str:
    if not settings.broker_url:
        raise QueueError(
            "no broker is configured: set EVOLVER_BROKER_URL (e.g. redis://127.0.0.1:6379/0) and start a worker "
            "(`celery -A worker.app worker`), or leave out --queue to run in-process"
        )
    return settings.broker_url
