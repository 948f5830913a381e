"""The service commands: `tournament`, and following and continuing runs: `status`, `watch`, `resume`."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from evolver import report
from evolver.cli.edge import PLAYER_FAILED, InputError, ScenarioArg, app, user_errors
from evolver.cli.runs import JobArg, QueueOpt, ReplayOpt, launch, leaderboard_table, make_spec, open_store, resume
from evolver.engine import LIVE
from evolver.settings import Settings
from evolver.state import JobState, job_state
from evolver.store import JobRow, Store


@app.command("tournament")
def tournament(
    scenario: ScenarioArg,
    models: Annotated[list[str], typer.Option("--model", help="A model id (provider:model). At least two.")],
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds of challenges after every model's init.")] = 3,
    attempts: Annotated[int, typer.Option("--attempts", help="Tries per challenge and per improvement.")] = 3,
    eval_seeds: Annotated[
        list[int] | None, typer.Option("--seed", help="A seed every match is evaluated on. Repeatable.")
    ] = None,
    comp: Annotated[
        str | None, typer.Option("--comp", help="METRIC, max:METRIC, min:METRIC or fn:NAME (default: the slot's).")
    ] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="Stop new calls past this many USD.")] = None,
    years: Annotated[float | None, typer.Option("--years", help="Years each evaluation simulates.")] = None,
    replay: ReplayOpt = None,
    queued: QueueOpt = False,
) -> None:
    """Models init, then each round try to beat every other model's champion and improve their own; a leaderboard."""
    with user_errors():
        spec = make_spec(
            kind="tournament", scenario=scenario, models=tuple(models), rounds=rounds, attempts=attempts,
            seeds=tuple(eval_seeds or (0,)), comp=comp, max_cost=max_cost, years=years, replay=replay,
        )  # fmt: skip
        launch(spec, queued)


@app.command("status")
def status(job_id: JobArg) -> None:
    """Where a job or tournament stands: its phase, every model's best, calls and cost, and its leaderboard."""
    with user_errors():
        store = open_store(Settings())
        Console().print(_status_view(store, _state(store, job_id)))


@app.command("watch")
def watch(
    job_id: JobArg,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes.", min=0.1)] = 1.0,
) -> None:
    """Follow a job or tournament until it ends or is interrupted (exit 1 if it failed or was interrupted)."""
    with user_errors():
        store = open_store(Settings())
        state = _state(store, job_id)
        with Live(_status_view(store, state), console=Console(), auto_refresh=False) as live:
            while state.job.status in LIVE:
                time.sleep(interval)
                state = _state(store, job_id)
                live.update(_status_view(store, state), refresh=True)
    if state.job.status in ("failed", "interrupted"):
        raise typer.Exit(PLAYER_FAILED)


@app.command("resume")
def resume_job(job_id: JobArg, queued: QueueOpt = False) -> None:
    """Continue an interrupted job or tournament where it stopped; nothing finished is done again."""
    with user_errors():
        resume(job_id, queued)


def _state(store: Store, job_id: int) -> JobState:
    state = job_state(store, job_id)
    if state is None:
        raise InputError(f"no job {job_id}; `evolver jobs` lists them")
    return state


def _status_view(store: Store, state: JobState) -> Group:
    job = state.job
    head = f"{job.kind} {job.id}: {job.scenario}, {job.comp}, {job.status}"
    head += f" ({job.error})" if job.error else ""
    done = f"phase {state.phase}/{state.phases}, {state.candidates} candidates ({state.ok} ok)"
    table = Table(title=f"{head}\n{done}")
    for column, justify in (("model", "left"), ("best", "right"), ("calls", "right"), ("cost $", "right")):
        table.add_column(column, justify=justify)
    for standing in state.standings:
        model = f"{standing.model} (retired: {standing.retired})" if standing.retired else standing.model
        table.add_row(model, report.format_number(standing.best), str(standing.calls), f"{standing.cost:.4f}")
    if job.kind != "tournament":
        return Group(table)
    return Group(table, leaderboard_table(store, job), _matches_table(store, job))


def _matches_table(store: Store, job: JobRow) -> Table:
    table = Table(title="matches")
    for column in ("round", "challenger", "defender", "challenger score", "defender score", "won"):
        table.add_column(column)
    for match in store.matches(job.id):
        table.add_row(
            str(match.round), match.challenger, match.defender, report.format_number(match.challenger_score),
            report.format_number(match.defender_score), "yes" if match.won else "no",
        )  # fmt: skip
    return table
