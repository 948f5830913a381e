"""What the commands that read a run show: where it stands (`status`, `watch`, the end of a run here), and its
leaderboard. They read the store through evolver/state.py only: no engine, queue or sandbox is loaded."""

from __future__ import annotations

import time
from collections.abc import Iterable

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from evolver import report
from evolver.cli.edge import PLAYER_FAILED, InputError
from evolver.games import JobReference
from evolver.launch import open_store
from evolver.settings import Settings
from evolver.state import LIVE, JobState, job_state
from evolver.store import CandidateRow, JobRow, Standing, Store

HEADERS = {"best_heldout": "held-out"}  # the leaderboard's columns, as the table names them


def read_store() -> Store:
    """The store at EVOLVER_DATABASE_URL, to read (nothing is created or migrated)."""
    return open_store(Settings())


def leaderboard_table(store: Store, job: JobRow) -> Table:
    """The tournament's leaderboard as a table."""
    from evolver.tournament import leaderboard  # pandas: loaded for a tournament only

    frame = leaderboard(store, job.id)
    arena = "bt" in frame.columns
    table = Table(
        title=f"tournament {job.id}: {job.scenario}, {job.comp}",
        caption=(
            "ranked by Elo rating over the markets' pairs of champions (a win is outscoring another model's champion "
            "in the same runs; bt: Bradley-Terry), not by best"
            if arena
            else "ranked by Elo rating over the matches (a win is beating another model's champion), not by best"
        ),
    )
    reference = JobReference.read(job.reference)  # the best scores' shares of the optimum profit
    table.caption = "\n".join(filter(None, [str(table.caption), report.share_legend([reference])]))
    shown = frame.drop(columns="retired")
    for column in shown.columns:
        table.add_column(HEADERS.get(column, column), justify="left" if column == "model" else "right")
    for row in shown.to_dict("records"):
        cells = {name: number(value) if name != "model" else value for name, value in row.items()}
        best, heldout = (None if x != x else x for x in (row["best"], row["best_heldout"]))  # NaN: none
        cells |= {
            "best": report.with_share(best, reference.train),
            "best_heldout": report.with_share(heldout, reference.heldout),
        }
        table.add_row(*{**cells, "gap": signed(row["gap"]), "cost": f"{row['cost']:.4f}"}.values())
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
    table = standings_table(f"{head}\n{done}", state.standings, JobReference.read(job.reference))
    if job.kind != "tournament":
        return Group(table)
    markets = (_markets_table(store, job),) if store.markets(job.id) else ()
    return Group(table, leaderboard_table(store, job), _matches_table(store, job), *markets)


def standings_table(title: str, standings: Iterable[Standing], reference: JobReference | None = None) -> Table:
    """Every model's best score and its held-out score (with their shares of the optimum profit, given the job's
    reference), calls and cost (and why it retired, if it did): the status and the live view."""
    reference = reference or JobReference()
    table = Table(title=title, caption=report.share_legend([reference]))
    table.add_column("model")
    for column in ("best", "held-out", "gap", "calls", "cost $"):
        table.add_column(column, justify="right")
    for s in standings:
        model = f"{s.model} (retired: {s.retired})" if s.retired else s.model
        best, heldout = report.with_share(s.best, reference.train), report.with_share(s.best_heldout, reference.heldout)
        table.add_row(model, best, heldout, signed(s.gap), str(s.calls), f"{s.cost:.4f}")
    return table


def number(value: object) -> str:
    """A table cell: `report.format_number`, NaN (a missing value in a pandas frame) as a dash too."""
    return report.format_number(None if value != value else value)


def signed(value: float | None) -> str:
    """A difference with its sign (`+1.5`, `-0.25`), or a dash."""
    if value is None or value != value:
        return number(None)
    return f"{'+' if value >= 0 else ''}{number(value)}"


def heldout_text(candidate: CandidateRow, reference: JobReference | None = None) -> Text:
    """` held-out 49.5 (gap -1.2)`, with its share of the optimum profit given the job's reference (` held-out 49.5
    (40.1 %, gap -1.2)`), or ` held-out runtime_error` when it failed there; empty when it was not evaluated on
    held-out seeds (none given, or it failed on the training seeds)."""
    if candidate.heldout_status is None:
        return Text()
    if candidate.heldout_score is None:
        return Text(f" held-out {candidate.heldout_status}", style="yellow")
    share = report.share_mark(candidate.heldout_score, reference.heldout if reference else None)
    notes = ", ".join(note for note in (share, f"gap {signed(candidate.gap)}") if note)
    return Text(f" held-out {report.format_number(candidate.heldout_score)} ({notes})")


def _markets_table(store: Store, job: JobRow) -> Table:
    table = Table(title="markets (each round's champions in the same runs)")
    for column in ("round", "seats", "scores"):
        table.add_column(column)
    for market in store.markets(job.id):
        scores = ", ".join(
            report.format_number(score) if score is not None else status
            for score, status in zip(market.scores, market.statuses, strict=True)
        )
        table.add_row(str(market.round), ", ".join(market.models), scores)
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
