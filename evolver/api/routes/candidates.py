"""Candidates: one in full (code, metrics, parents, diff), exported as a .py file, and its run: drawn as a PNG, or
as the data the page draws its charts from."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

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
from evolver.api.throttle import QueueFullError, RenderQueue
from evolver.errors import EvolverError
from evolver.export import export_text, not_exported
from evolver.games import JobReference
from evolver.lineage import code_diff
from evolver.pinning import check_components, job_scenario
from evolver.report import jsonable
from evolver.store import CandidateRow, Store
from sandbox import Limits
from sandbox.contract import DETAIL_REPORT_BYTES

if TYPE_CHECKING:
    import pandas as pd

router = APIRouter(tags=["candidates"], responses=INVALID)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such candidate."}}
NO_RUN: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"model": Problem, "description": "The candidate has no code, or failed: there is no run to show."},
}
RERUN: dict[int | str, dict[str, Any]] = {  # a route that runs the candidate again
    **NO_RUN,
    **THROTTLED,
    503: retry_later(
        "Too many requests already wait for a chart to be drawn (one is drawn at a time, and EVOLVER_API_CHART_QUEUE "
        "may wait): this one was not started."
    ),
}
CHART: dict[int | str, dict[str, Any]] = {
    **RERUN,
    200: {"content": {"image/png": {}}, "description": "The run's charts."},
}
CHART_LIMITS = Limits(max_report_bytes=DETAIL_REPORT_BYTES)  # the run's daily stats come back through the report
CACHED_CHARTS = 64  # charts (PNGs and runs' data, together) kept per server (a candidate never changes)


class ChartLine(BaseModel):
    """One line of a panel."""

    label: str = Field(description="The line's name in the legend.")
    color: str = Field(description="Its colour: the scenario's graph config's, else the PNG's cycle of colours.")
    key: str = Field(description="The stats column it draws: a key of `columns`.")


class ChartPanel(BaseModel):
    """One chart: its lines against the day."""

    title: str
    lines: list[ChartLine]


class CandidateRun(BaseModel):
    """What the charts of a candidate's run show (the PNG draws exactly these): the candidate run again on its
    job's first seed; the scenario's graphs, then its markets and the player's wallet. Columns, not rows: a
    column's values are day by day, in the order of `days`."""

    candidate_id: int
    title: str = Field(description="The charts' title, as the PNG's.")
    seed: int = Field(description="The simulation seed of the run: its job's first.")
    days: list[int] = Field(description="The day axis (the stats' `i`).")
    panels: list[ChartPanel]
    columns: dict[str, list[float | None]] = Field(
        description="Each column a line draws, by key: its values as numbers, null where a day's value is none, not "
        "a number or not finite."
    )


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
    png = _rendered(request, store, renders, candidate_id, "chart.png", functools.partial(_png, runner, store))
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.get("/candidates/{candidate_id}/run.json", response_model=CandidateRun, responses=RERUN)
def candidate_run(
    candidate_id: CandidateId, request: Request, store: StoreDep, runner: RunnerDep, renders: RendersDep
) -> Response:
    """The data of the candidate's charts, for a client to draw them (the page does): the panels of `chart.png`
    (title, lines with their labels, colours and stats columns), the day axis and each column's values.

    Computed as `chart.png` is, under the same limits: the candidate is run again in the sandbox on its job's first
    seed (no PNG is drawn); a run already computed is served at once and counts against no limit."""
    run = _rendered(request, store, renders, candidate_id, "run.json", functools.partial(_run_json, runner, store))
    return Response(run, media_type="application/json", headers={"Cache-Control": "max-age=3600"})


def _rendered(
    request: Request,
    store: Store,
    renders: RenderQueue,
    candidate_id: int,
    kind: str,
    render: Callable[[int], bytes],
) -> bytes:
    """`render(candidate_id)` of an ok candidate, kept per (candidate, kind): a kept one at once, else in its turn
    on the render queue, after the client's rate admits it."""
    candidate = _candidate(store, candidate_id)
    if candidate.status != "ok":
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"candidate {candidate_id} did not run to the end ({candidate.status})"
        )
    key: Hashable = (candidate_id, kind)
    kept = renders.cached(key)
    if kept is not None:
        return kept
    admit(request)
    try:
        return renders.render(key, functools.partial(render, candidate_id))
    except QueueFullError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the server is busy drawing charts ({exc.waiting} requests wait for their turn, the most it "
            f"queues: EVOLVER_API_CHART_QUEUE); retry in {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc


@dataclass(frozen=True)
class _Replay:
    """A candidate's run again, with what its charts show."""

    frame: pd.DataFrame  # the daily stats
    panels: list[charts.Panel]
    title: str
    seed: int


def _replay(runner: Runner, store: Store, candidate_id: int) -> _Replay:
    """The candidate run again in the sandbox on its job's first seed and years, with its daily stats, on the
    scenario pinned at submit (a 409 if a component it composes has changed since, or if the run fails)."""
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
    panels = charts.chart_panels(frame, scenario.graphs, charts.slot_graphs(scenario))
    title = f"candidate {candidate_id} ({candidate.model_id}, {candidate.op}): {job.scenario}, seed {seed}"
    return _Replay(frame, panels, title, seed)


def _png(runner: Runner, store: Store, candidate_id: int) -> bytes:
    run = _replay(runner, store, candidate_id)
    buffer = io.BytesIO()
    charts.figure(run.frame, run.panels, run.title).savefig(buffer, format="png")
    return buffer.getvalue()


def _run_json(runner: Runner, store: Store, candidate_id: int) -> bytes:
    run = _replay(runner, store, candidate_id)
    keys = dict.fromkeys(line.key for panel in run.panels for line in panel.lines)  # each column once, in order
    return CandidateRun(
        candidate_id=candidate_id, title=run.title, seed=run.seed, days=run.frame["i"].tolist(),
        panels=[ChartPanel(title=p.title, lines=[ChartLine(label=line.label, color=charts.browser_color(line.color),
                key=line.key) for line in p.lines]) for p in run.panels],
        columns={key: jsonable(charts.values(run.frame, key).tolist()) for key in keys},
    ).model_dump_json().encode()  # fmt: skip


def _candidate(store: Store, candidate_id: int) -> CandidateRow:
    candidate = store.candidate(candidate_id)
    if candidate is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no candidate {candidate_id}; GET /jobs/ID/lineage lists them")
    return candidate
