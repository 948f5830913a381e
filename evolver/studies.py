"""Verification studies as the service runs them: a design matrix whose adversaries are evolved by the service's own
jobs, and a study's simulations spread over the Celery workers.

`simcore.verification` judges a design; what it cannot do alone is evolve an attacker (a job, through the normal job
path: stored with its lineage like any other) and run on other machines. Here:

- `adversary(...)` evolves a player for a scenario's slot (in this process, or on the workers with a queue), takes
  the job's best candidate and scores it in the sandbox on the study's seeds: its metrics seed by seed, which
  `simcore.verification.matrix.adversary_cells` compares with the house's on the same seeds;
- `celery_runner(...)` is a study's runner (`simcore.verification.runs.Runner`) whose jobs are split in chunks, each a
  task (`evolver.simulate_runs`) that a worker runs with the scenario loaded by its reference; the outcomes come back in
  job order, identical to a local run's (a run depends on its seed alone). A worker that dies mid-chunk leaves it to
  another (late acks), so nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from evolver.engine import Engine, Progress
from evolver.errors import EvolverError
from evolver.job import JobSpec
from evolver.launch import submit
from evolver.queue import QUEUE, SIMULATE_RUNS, TaskQueue
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool
from simcore.batch import Job, Outcome, run_many
from simcore.batch import Progress as RunProgress
from simcore.scenario import Scenario

FINISHED = ("done", "failed", "stopped", "interrupted")
CHUNK = 16  # runs a task simulates
POLL = 0.2  # seconds between looks at a queued job or chunk


@dataclass(frozen=True)
class Adversary:
    """An evolved adversary: its job, its best candidate and that candidate's training score, and its metrics on each
    of the study's seeds (scored in the sandbox)."""

    job_id: int
    candidate_id: int
    score: float
    metrics: tuple[Mapping[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job_id, "candidate": self.candidate_id, "score": self.score}


def adversary(
    store: Store, settings: Settings, spec: JobSpec, seeds: Sequence[int], pool: SandboxPool,
    queue: TaskQueue | None = None, on_progress: Callable[[Progress], None] | None = None,
    timeout: float = 3600.0,
) -> Adversary:  # fmt: skip
    """Evolve `spec` (here, or on the workers with `queue`), then score its best candidate on `seeds`."""
    job_id = submit(store, settings, spec, queue)
    if queue is None:
        Engine(store, settings, pool).run(job_id, on_progress)
    else:
        _wait(store, job_id, timeout)
    job = store.job(job_id)
    assert job is not None
    best = store.best(job_id, job.direction)
    if best is None:
        raise EvolverError(f"adversary job {job_id} ({spec.scenario}) ended {job.status} with no candidate scored ok")
    evaluation = pool.evaluate(best.code, spec.scenario, tuple(seeds), spec.years)
    if evaluation.status != "ok":
        raise EvolverError(
            f"adversary job {job_id}'s best candidate {best.id} failed on the study's seeds: {evaluation.status}: "
            f"{evaluation.error}"
        )
    return Adversary(job_id, best.id, float(best.score or 0.0), tuple(evaluation.per_seed))


def _wait(store: Store, job_id: int, timeout: float) -> None:
    """Until the queued job has finished; an EvolverError if it fails or takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (job := store.job(job_id)) is not None and job.status not in FINISHED:
        if time.monotonic() > deadline:
            raise EvolverError(
                f"adversary job {job_id} still {job.status} after {timeout:g} s; `evolver watch {job_id}`"
            )
        time.sleep(POLL)
    if job is None or job.status != "done":
        raise EvolverError(f"adversary job {job_id} ended {job.status if job else 'gone'}: {job.error if job else ''}")


def celery_runner(
    queue: TaskQueue, ref: str, seated: bool, timeout: float = 3600.0
) -> Callable[..., Iterator[Outcome]]:
    """A study's runner on the workers: the scenario `ref` (a built-in name or a file the workers can read), run
    `seated` with its game's reference player or plain, in chunks of CHUNK jobs."""

    def run(
        scenario: Scenario, jobs: Sequence[Job], years: float, workers: int = 1, progress: RunProgress | None = None
    ) -> Iterator[Outcome]:
        columns = getattr(scenario.after, "columns", ())  # what an `observed` scenario records
        chunks = [list(jobs[i : i + CHUNK]) for i in range(0, len(jobs), CHUNK)]
        results = [
            queue.app.send_task(SIMULATE_RUNS, args=(ref, list(columns), chunk, years, seated), queue=QUEUE)
            for chunk in chunks
        ]
        deadline, done = time.monotonic() + timeout, 0
        for chunk, result in zip(chunks, results, strict=True):
            remaining = max(deadline - time.monotonic(), 1.0)
            yield from (tuple(outcome) for outcome in result.get(timeout=remaining, interval=POLL))
            done += len(chunk)
            if progress:
                progress(done, len(jobs))

    return run


def simulate_runs(ref: str, columns: Sequence[str], jobs: Sequence[Job], years: float, seated: bool) -> list[Outcome]:
    """What a worker does for `celery_runner`: the `jobs` of the scenario `ref`, observed for `columns`, each run's
    scalar variables and recorded columns (JSON data)."""
    from simcore.scenario import load_scenario
    from simcore.verification.runs import RECORD, Recorder, seated_runner

    loaded = load_scenario(ref)
    watched = replace(loaded, after=Recorder(loaded.after, tuple(columns)))
    runner = seated_runner(watched) if seated else run_many
    return [
        ({key: x for key, x in nvars.items() if x is None or isinstance(x, (int, float, str))}, {RECORD: res[RECORD]})
        for nvars, res in runner(watched, [(dict(overrides), seed) for overrides, seed in jobs], years, 1, None)
    ]
