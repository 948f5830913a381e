"""Studies as the service runs them: a design matrix whose adversaries are evolved by the service's own jobs, and the
runs of a verification study, a fuzz or a Monte Carlo spread over the Celery workers.

`simcore.verification` judges a design; what it cannot do alone is evolve an attacker (a job, through the normal job
path: stored with its lineage like any other) and run on other machines. Here:

- `adversary(...)` evolves a player for a scenario's slot (in this process, or on the workers with a queue), takes
  the job's best candidate and scores it in the sandbox on the study's seeds: its metrics seed by seed, which
  `simcore.verification.matrix.adversary_cells` compares with the house's on the same seeds;
- `celery_runner(...)` is a runner (`simcore.batch.Runner`, `run_many`'s signature) for a study, a fuzz or
  a Monte Carlo whose jobs are split in chunks, each a task (`evolver.simulate_runs`) that a worker runs with the
  scenario pinned as its text; the outcomes come back in job order, identical to a local run's (a run depends on its
  values and seed alone). A worker that dies mid-chunk leaves it to another (late acks), so nothing is lost.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from evolver.engine import Engine, Progress
from evolver.errors import EvolverError
from evolver.job import JobSpec
from evolver.launch import submit
from evolver.pinning import Pinned, pin
from evolver.queue import OUTAGES, QUEUE, SIMULATE_RUNS, TaskQueue
from evolver.settings import Settings
from evolver.store import Store
from sandbox import SandboxPool
from simcore.batch import Job, Outcome, Runner, run_many
from simcore.batch import Progress as RunProgress
from simcore.errors import SimulationError
from simcore.fuzz import scalars
from simcore.scenario import Scenario

if TYPE_CHECKING:
    from celery.result import AsyncResult


FINISHED = ("done", "failed", "stopped", "interrupted")
CHUNKS_PER_PROCESS = 8  # chunks a sweep aims at for each of the workers' processes (`chunk_size`)
CHUNK_BOUNDS = (16, 2_000)  # the fewest and the most runs a task simulates, if they take a short time
CHUNK_SHARE = 0.5  # the share of the task time limit a chunk may take, timed here (a worker may be slower, or busy)
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


def chunk_size(runs: int, processes: int, run_seconds: float = 0.0, time_limit: float = math.inf) -> int:
    """Runs per task for `runs` runs over the workers' `processes`: about CHUNKS_PER_PROCESS chunks for each process,
    so the processes stay busy to the end (the last chunks are short beside the whole), the progress bar moves and a
    worker that dies takes one chunk's work with it; within CHUNK_BOUNDS, so a task's cost (a message each way, the
    scenario loaded, the result stored: a few milliseconds) stays small beside its runs, and its result (a run's
    scalar variables) a small message. A run that takes `run_seconds` caps it further (down to one run), so a chunk
    takes at most CHUNK_SHARE of the task `time_limit` (docs/DESIGN.md, issue 18)."""
    low, high = CHUNK_BOUNDS
    size = min(high, max(low, math.ceil(runs / (CHUNKS_PER_PROCESS * max(processes, 1)))))
    if run_seconds > 0:
        size = min(size, max(1, int(time_limit * CHUNK_SHARE / run_seconds)))
    return size


def _run_seconds(scenario: Scenario, job: Job, years: float, seated: bool) -> float:
    """How long a run of `job` takes here, timed the second time: the first also prepares what the scenario's runs
    share (its plan, its compiled loop), and finds a bad case before anything is queued."""
    from simcore.verification.runs import seated_runner

    runner = seated_runner(scenario) if seated else run_many
    list(runner(scenario, [job], years, 1, None))
    start = time.perf_counter()
    list(runner(scenario, [job], years, 1, None))
    return time.perf_counter() - start


def celery_runner(queue: TaskQueue, ref: str, seated: bool = False, timeout: float = 3600.0) -> Runner:
    """A runner (`run_many`'s signature) on the workers, for a study, a fuzz or a Monte Carlo of the scenario `ref`
    (a built-in name or a .py file), run `seated` with its game's reference player or plain.

    The scenario's text is read now and sent with every chunk (`evolver.pinning`), so the workers run what this
    process read, wherever they are and whatever happens to the file since. The scenario given to the runner must be
    `ref` as loaded here (`observed` or not: the columns it records go along); each outcome is the run's `scalars`
    and, for an observed scenario, its recorded columns (`res` holds nothing else), in job order. Chunks are sized by
    `chunk_size` for the processes the workers have now and the time the first job takes here; `progress(done,
    total)` counts each chunk as it ends, in any order; a chunk whose worker dies is run again by another (late acks),
    so none is lost.
    """
    pinned = asdict(pin(ref))

    def run(
        scenario: Scenario, jobs: Sequence[Job], years: float, workers: int = 1, progress: RunProgress | None = None
    ) -> Iterator[Outcome]:
        if not jobs:
            return
        columns = getattr(scenario.after, "columns", None)  # what an `observed` scenario records
        seconds = _run_seconds(scenario, jobs[0], years, seated)
        size = chunk_size(len(jobs), queue.processes, seconds, queue.settings.task_time_limit)
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        results = [
            queue.app.send_task(SIMULATE_RUNS, args=(pinned, chunk, years, seated, columns), queue=QUEUE)
            for chunk in chunks
        ]
        for outcomes in _gathered(queue, results, [len(chunk) for chunk in chunks], progress, timeout):
            yield from (tuple(outcome) for outcome in outcomes)

    return run


def _gathered(
    queue: TaskQueue, results: list[AsyncResult], sizes: list[int], progress: RunProgress | None, timeout: float
) -> Iterator[list[Any]]:
    """Each chunk's outcomes, in chunk order, as soon as it and those before it have ended; `progress` counts every
    chunk as it ends. A chunk that failed raises (a SimulationError as the run raised it); those still queued when
    this stops early are revoked."""
    pending, ended = dict(enumerate(results)), {}
    total, done, deadline = sum(sizes), 0, time.monotonic() + timeout
    try:
        for index in range(len(results)):
            while index not in ended:
                finished = [i for i, result in pending.items() if result.ready()]
                for i in finished:
                    ended[i] = _outcomes(pending.pop(i), sizes[i])
                    done += sizes[i]
                    if progress:
                        progress(done, total)
                if not finished:
                    if time.monotonic() > deadline:
                        raise EvolverError(
                            f"the workers ran {done} of {total} runs in {timeout:g} s: is a worker running "
                            "(`celery -A worker.app worker`)?"
                        )
                    time.sleep(POLL)
            yield ended.pop(index)
    finally:
        if pending:
            with contextlib.suppress(*OUTAGES):  # the error that stopped it says more than the broker's
                queue.app.control.revoke([result.id for result in pending.values()])


def _outcomes(result: AsyncResult, size: int) -> list[Any]:
    """An ended chunk's outcomes (its result then deleted from the backend)."""
    try:
        return result.get()
    except SimulationError:
        raise
    except Exception as exc:
        raise EvolverError(f"a chunk of {size} runs failed on a worker: {type(exc).__name__}: {exc}") from exc
    finally:
        result.forget()


def simulate_runs(
    scenario: Mapping[str, str], jobs: Sequence[Job], years: float, seated: bool, columns: Sequence[str] | None
) -> list[Outcome]:
    """What a worker does for `celery_runner`: the `jobs` of the pinned `scenario` (`Pinned`'s fields), observed for
    `columns` unless None; each run's scalar variables and recorded columns (JSON data)."""
    from simcore.scenario import load_scenario
    from simcore.verification.runs import RECORD, Recorder, seated_runner

    loaded = load_scenario(Pinned(**scenario).ref)
    if columns is not None:
        loaded = replace(loaded, after=Recorder(loaded.after, tuple(columns)))
    runner = seated_runner(loaded) if seated else run_many
    return [
        (scalars(nvars), {RECORD: res[RECORD]} if columns is not None else {})
        for nvars, res in runner(loaded, [(dict(overrides), seed) for overrides, seed in jobs], years, 1, None)
    ]
