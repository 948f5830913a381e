"""What the commands that read a run show: where it stands (`status`, `watch`, the end of a run here), and its
leaderboard. They read the store through evolver/state.py only: no engine, queue or sandbox is loaded."""

from __future__ import annotations

import time
from collections.abc import Iterable

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from evolver import report
from evolver.cli.edge import PLAYER_FAILED, InputError
from evolver.launch import open_store
from evolver.settings import Settings
from evolver.state import LIVE, JobState, job_state
from evolver.store import JobRow, Standing, Store


def read_store() -> Store:
    """The store at EVOLVER_DATABASE_URL, to read (nothing is created or migrated)."""
    return open_store(Settings())


def leaderboard_table(store: Store, job: JobRow) -> Table:
    """The tournament's leaderboard as a table."""
    from evolver.tournament import leaderboard  # pandas: loaded for a tournament only

    frame = leaderboard(store, job.id)
    table = Table(
        title=f"tournament {job.id}: {job.scenario}, {job.comp}",
        caption="ranked by Elo rating over the matches (a win is beating another model's champion), not by best",
    )
    for column in frame.columns.drop("retired"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in frame.drop(columns="retired").itertuples(index=False):
        cells = [report.format_number(value) if isinstance(value, float) else str(value) for value in row]
        cells[-1] = f"{row.cost:.4f}"
        table.add_row(*cells)
    return table


def noun(kind: str) -> str:
    return "job" if kind == "evolve" else kind


def print_status(job_id: int) -> None:
    """Where the job stands, printed once."""
    store = read_store()
    Console().print(_status_view(store, _state(store, job_id)))


def watch(job_id: int, interval: float) -> None:
    """Where the job stands, refreshed every `interval` seconds until it ends or is interrupted (exit 1 then)."""
    store = read_store()
    state = _state(store, job_id)
    with Live(_status_view(store, state), console=Console(), auto_refresh=False) as live:
        while state.job.status in LIVE:
            time.sleep(interval)
            state = _state(store, job_id)
            live.update(_status_view(store, state), refresh=True)
    if state.job.status in ("failed", "interrupted"):
        raise typer.Exit(PLAYER_FAILED)


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
    table = standings_table(f"{head}\n{done}", state.standings)
    if job.kind != "tournament":
        return Group(table)
    return Group(table, leaderboard_table(store, job), _matches_table(store, job))


def standings_table(title: str, standings: Iterable[Standing]) -> Table:
    """Every model's best score, calls and cost (and why it retired, if it did): the status and the live view."""
    table = Table(title=title)
    for column, justify in (("model", "left"), ("best", "right"), ("calls", "right"), ("cost $", "right")):
        table.add_column(column, justify=justify)
    for standing in standings:
        model = f"{standing.model} (retired: {standing.retired})" if standing.retired else standing.model
        table.add_row(model, report.format_number(standing.best), str(standing.calls), f"{standing.cost:.4f}")
    return table


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
