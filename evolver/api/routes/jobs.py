"""Jobs and tournaments: submit one, list them, see where one stands, its lineage, its leaderboard and matches."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status

import simcore
from evolver.api.deps import Authorized, JobId, Limit, Offset, RunnerDep, StoreDep
from evolver.api.schemas import (
    INVALID,
    CandidateOut,
    JobDetail,
    JobIn,
    JobOut,
    LeaderRow,
    MarketOut,
    MatchOut,
    ModelStanding,
    Page,
    Problem,
    TournamentDetail,
    TournamentIn,
    shares,
)
from evolver.games import JobReference
from evolver.job import JobSpec
from evolver.report import jsonable
from evolver.state import JobState, job_state
from evolver.store import JobRow, Store
from evolver.tournament import leaderboard

router = APIRouter(tags=["jobs"], responses=INVALID)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such job."}}
WRITE: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid bearer token."},
    403: {"model": Problem, "description": "The server has no EVOLVER_API_TOKEN: it takes no writes."},
    400: {"model": Problem, "description": "The body is not JSON."},
    422: {"model": Problem, "description": "The body is invalid, or names an unknown scenario, model or comp."},
    503: {"model": Problem, "description": "The store or the broker cannot be reached."},
}


@router.post("/jobs", status_code=status.HTTP_202_ACCEPTED, dependencies=[Authorized], responses=WRITE)
def submit_job(body: JobIn, store: StoreDep, runner: RunnerDep) -> JobDetail:
    """Start an evolution job: on the workers when a broker is configured, else in the server's process."""
    return _detail(store, runner.submit(JobSpec(kind="evolve", **_spec_fields(body))))


@router.get("/jobs")
def list_jobs(
    store: StoreDep, offset: Offset = 0, limit: Limit = 50, kind: Literal["evolve", "tournament"] | None = None
) -> Page[JobOut]:
    """The jobs and tournaments, oldest first (`kind` keeps one of the two)."""
    return _page(store, kind, offset, limit)


@router.get("/jobs/{job_id}", responses=NOT_FOUND)
def get_job(job_id: JobId, store: StoreDep) -> JobDetail:
    """Where a job stands: phase, candidates, every model's best, calls and cost. Poll it to follow a run."""
    return _detail(store, job_id)


@router.get("/jobs/{job_id}/lineage", responses=NOT_FOUND)
def get_lineage(job_id: JobId, store: StoreDep, offset: Offset = 0, limit: Limit = 500) -> Page[CandidateOut]:
    """The job's candidates in the order they were written (every parent before its children), without code."""
    reference = JobReference.read(_job(store, job_id).reference)
    rows = store.lineage(job_id, offset, limit)
    total, _ = store.count_candidates(job_id)
    return Page(items=[CandidateOut.of(row, reference) for row in rows], total=total, offset=offset, limit=limit)


@router.post("/tournaments", status_code=status.HTTP_202_ACCEPTED, dependencies=[Authorized], responses=WRITE)
def submit_tournament(body: TournamentIn, store: StoreDep, runner: RunnerDep) -> JobDetail:
    """Start a tournament: every model inits, then each round challenges the others' champions and improves."""
    return _detail(store, runner.submit(JobSpec(kind="tournament", **_spec_fields(body))))


@router.get("/tournaments")
def list_tournaments(store: StoreDep, offset: Offset = 0, limit: Limit = 50) -> Page[JobOut]:
    """The tournaments, oldest first."""
    return _page(store, "tournament", offset, limit)


@router.get("/tournaments/{job_id}", responses=NOT_FOUND)
def get_tournament(job_id: JobId, store: StoreDep) -> TournamentDetail:
    """A tournament's standing, its leaderboard (Elo) and its matches."""
    job = _job(store, job_id)
    if job.kind != "tournament":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} is not a tournament; GET /jobs/{job_id} shows it")
    board = jsonable(leaderboard(store, job_id).to_dict("records"))
    reference = JobReference.read(job.reference)
    return TournamentDetail(
        **_detail(store, job_id).model_dump(),
        leaderboard=[LeaderRow(**row, **shares(reference, row["best"], row["best_heldout"])) for row in board],
        matches=[MatchOut.of(match) for match in store.matches(job_id)],
        markets=[MarketOut.of(market) for market in store.markets(job_id)],
    )


def _spec_fields(body: JobIn | TournamentIn) -> dict[str, Any]:
    if body.scenario not in simcore.builtin_names():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown scenario {body.scenario!r}; GET /scenarios lists them"
        )
    return {**body.model_dump(exclude={"heldout_seeds"}), "heldout": body.heldout_seeds}  # JobSpec's name


def _job(store: Store, job_id: int) -> JobRow:
    job = store.job(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}; GET /jobs lists them")
    return job


def _page(store: Store, kind: str | None, offset: int, limit: int) -> Page[JobOut]:
    items = [JobOut.of(job, store.top(job.id, job.direction)) for job in store.jobs(kind, offset, limit)]
    return Page(items=items, total=store.count_jobs(kind), offset=offset, limit=limit)


def _state(store: Store, job_id: int) -> JobState:
    state = job_state(store, job_id)
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id}; GET /jobs lists them")
    return state


def _detail(store: Store, job_id: int) -> JobDetail:
    state = _state(store, job_id)
    best = state.best
    top = (best.best_candidate, best.best, best.best_heldout) if best else None
    reference = JobReference.read(state.job.reference)
    return JobDetail(
        **JobOut.of(state.job, top).model_dump(),  # type: ignore[arg-type]
        phase=state.phase, phases=state.phases, candidates=state.candidates, ok=state.ok,
        standings=[ModelStanding.of(standing, reference) for standing in state.standings],
    )  # fmt: skip
