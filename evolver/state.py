"""The read side of a run: where a job stands, loaded with a few slim queries.

`status`, `watch`, the live view's end, `GET /jobs/{id}` and the page read a `JobState`: the job's row (its
phase is written by the engine as the run moves), how many candidates it has and each model's standing, all
aggregated in the database. No engine is built, no scenario loaded, no code, prompt or reply text read, so a
poll costs about the same on a job of 20 candidates as on one of 2,000.
"""

from __future__ import annotations

from dataclasses import dataclass

from evolver.job import JobSpec
from evolver.store import JobRow, Standing, Store

LIVE = ("pending", "running")  # a run that goes on by itself; `interrupted` waits for `evolver resume`


@dataclass(frozen=True)
class JobState:
    """A job or tournament as it stands: its row, its phase (1-based) of `phases`, its candidates and standings."""

    job: JobRow
    phase: int
    phases: int
    candidates: int
    ok: int  # candidates that evaluated ok
    standings: tuple[Standing, ...]  # in the order the job was given its models

    @property
    def best(self) -> Standing | None:
        """The standing of the model with the best score (the earliest candidate of a tie), or None."""
        scored = [s for s in self.standings if s.best is not None and s.best_candidate is not None]
        sign = -1.0 if self.job.direction == "max" else 1.0
        return min(scored, key=lambda s: (sign * s.best, s.best_candidate), default=None)  # type: ignore[operator]


def interrupted(store: Store, job_id: int, cause: BaseException | str) -> str:
    """Marks a pending or running job `interrupted` by `cause` (SIGINT for a KeyboardInterrupt, else its text),
    with the way to continue it; returns the error written."""
    why = "SIGINT" if isinstance(cause, KeyboardInterrupt) else str(cause)
    error = f"interrupted ({why}): `evolver resume {job_id}` continues it"
    store.set_job_status(job_id, "interrupted", expected=LIVE, error=error)
    return error


def job_state(store: Store, job_id: int) -> JobState | None:
    """The job's state, or None when there is no such job."""
    job = store.job(job_id)
    if job is None:
        return None
    phases = JobSpec.from_row(job).phases
    phase = phases if job.status == "done" else min((job.phase or 0) + 1, phases)
    total, ok = store.count_candidates(job_id)
    standings = store.standings(job_id, job.direction, job.models)
    return JobState(job, phase, phases, total, ok, tuple(standings))
