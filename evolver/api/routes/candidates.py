"""Candidates: one in full (code, metrics, parents, diff), exported as a .py file, and its run drawn as a chart."""

from __future__ import annotations

import functools
import io
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status

import simcore
from evolver import charts
from evolver.api.deps import CandidateId, RendersDep, RunnerDep, StoreDep, admit
from evolver.api.runner import Runner
from evolver.api.schemas import (
    INVALID,
    THROTTLED,
    CandidateDetail,
    CandidateOut,
    EvaluationOut,
    Problem,
    retry_later,
)
from evolver.api.throttle import QueueFullError
from evolver.errors import EvolverError
from evolver.export import export_text, not_exported
from evolver.games import JobReference
from evolver.lineage import code_diff
from evolver.pinning import check_components, job_scenario
from evolver.report import jsonable
from evolver.store import CandidateRow, Store
from sandbox import Limits
from sandbox.contract import DETAIL_REPORT_BYTES

router = APIRouter(tags=["candidates"], responses=INVALID)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such candidate."}}
NO_RUN: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": Problem, "description": "The candidate has no code, or failed: there is no run to show."},
}
CHART: dict[int | str, dict[str, Any]] = {
    **NO_RUN,
    **THROTTLED,
    200: {"content": {"image/png": {}}, "description": "The run's charts."},
    503: retry_later(
        "Too many requests already wait for a chart to be drawn (one is drawn at a time, and EVOLVER_API_CHART_QUEUE "
        "may wait): this one was not started."
    ),
}
CHART_LIMITS = Limits(max_report_bytes=DETAIL_REPORT_BYTES)  # the run's daily stats come back through the report
CACHED_CHARTS = 64  # PNGs kept per server (a candidate never changes)


@router.get("/candidates/{candidate_id}", responses=NOT_FOUND)
def get_candidate(candidate_id: CandidateId, store: StoreDep) -> CandidateDetail:
    """A candidate in full: code, metrics, its parent and target, the diff against its parent, its evaluations."""
    candidate = _candidate(store, candidate_id)
    parent = store.candidate(candidate.parent_id) if candidate.parent_id else None
    target = store.candidate(candidate.target_id) if candidate.target_id else None
    job = store.job(candidate.job_id)
    reference = JobReference.read(job.reference if job else None)  # the parent and target are of the same job
    evaluations = [
        EvaluationOut(**jsonable({name: getattr(row, name) for name in EvaluationOut.model_fields}))
        for row in store.evaluations(candidate_id)
    ]
    return CandidateDetail(
        **CandidateOut.of(candidate, reference).model_dump(), code=candidate.code, code_hash=candidate.code_hash,
        metrics=jsonable(candidate.metrics), parent=parent and CandidateOut.of(parent, reference),
        target=target and CandidateOut.of(target, reference), diff=code_diff(parent, candidate) if parent else None,
        evaluations=evaluations, prompt=candidate.prompt, reply=candidate.reply, choice=candidate.choice,
    )  # fmt: skip


@router.get(
    "/candidates/{candidate_id}/export",
    responses={**NO_RUN, 200: {"content": {"text/x-python": {}}, "description": "The player module."}},
)
def export_candidate(candidate_id: CandidateId, store: StoreDep) -> Response:
    """The candidate as a standalone player module; `evolver evaluate SCENARIO FILE` reproduces its score."""
    refusal = not_exported(_candidate(store, candidate_id))
    if refusal:
        raise HTTPException(status.HTTP_409_CONFLICT, refusal)
    return Response(
        export_text(store, candidate_id), media_type="text/x-python",
        headers={"Content-Disposition": f'attachment; filename="player_{candidate_id}.py"'},
    )  # fmt: skip


@router.get("/candidates/{candidate_id}/chart.png", responses=CHART)
def candidate_chart(
    candidate_id: CandidateId, request: Request, store: StoreDep, runner: RunnerDep, renders: RendersDep
) -> Response:
    """The scenario's graphs (AI3's dashboard: price, liquidity, trades) and the player's wallet over the days of
    the candidate's run on its job's first seed; the candidate is run again in the sandbox to draw them.

    A chart already drawn is served at once and counts against no limit. Drawing one counts against the client's
    rate without the token (429 beyond); charts are drawn one at a time and a few requests may wait for their
    turn (503 beyond, without waiting)."""
    candidate = _candidate(store, candidate_id)
    if candidate.status != "ok":
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"candidate {candidate_id} did not run to the end ({candidate.status})"
        )
    png = renders.cached(candidate_id)
    if png is None:
        admit(request)
        try:
            png = renders.render(candidate_id, functools.partial(_chart, runner, store, candidate_id))
        except QueueFullError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the server is busy drawing charts ({exc.waiting} requests wait for their turn, the most it "
                f"queues: EVOLVER_API_CHART_QUEUE); retry in {exc.retry_after} s",
                headers={"Retry-After": str(exc.retry_after)},
            ) from exc
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


def _chart(runner: Runner, store: Store, candidate_id: int) -> bytes:
    candidate = _candidate(store, candidate_id)
    job = store.job(candidate.job_id)
    assert job is not None  # a candidate always belongs to a job
    seed, years = job.budget.get("seeds", [0])[0], job.budget.get("years")
    ref = job_scenario(job)
    try:
        scenario = check_components(job, simcore.load_scenario(ref))  # its run, not one of a changed component
    except EvolverError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    evaluation = runner.pool.evaluate(candidate.code, ref, [seed], years, CHART_LIMITS, detail=True)
    if evaluation.detail is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"candidate {candidate_id}'s run failed: {evaluation.error}")
    frame = simcore.engine.stats_frame(evaluation.detail["stats"])
    title = f"candidate {candidate_id} ({candidate.model_id}, {candidate.op}): {job.scenario}, seed {seed}"
    buffer = io.BytesIO()
    charts.write_chart(buffer, frame, scenario.graphs, title, charts.slot_graphs(scenario))
    return buffer.getvalue()


def _candidate(store: Store, candidate_id: int) -> CandidateRow:
    candidate = store.candidate(candidate_id)
    if candidate is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no candidate {candidate_id}; GET /jobs/ID/lineage lists them")
    return candidate
