"""What the job commands share: opening the store, building a spec, and running a job here or on the queue.

A job runs in-process with a live view unless `--queue` sends it to the workers (EVOLVER_BROKER_URL), in
which case the command prints its id and `evolver status ID` / `evolver watch ID` follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from evolver import report
from evolver.cli.edge import InputError, show
from evolver.engine import Engine, Progress
from evolver.job import JobSpec
from evolver.launch import open_store, submit
from evolver.queue import TaskQueue, kick
from evolver.settings import Settings
from evolver.store import JobRow, Store
from evolver.store.database import masked
from evolver.tournament import leaderboard
from sandbox import SandboxPool

QueueOpt = Annotated[
    bool, typer.Option("--queue", help="Send it to the Celery workers (EVOLVER_BROKER_URL), print its id, return.")
]
JobArg = Annotated[int, typer.Argument(help="A job or tournament id (see `evolver jobs`).")]


def make_spec(**fields: object) -> JobSpec:
    """The spec, or an InputError naming the option that was wrong."""
    try:
        return JobSpec(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = f"--{str(problem['loc'][0]).replace('_', '-')}: " if problem["loc"] else ""
        raise InputError(f"{where}{problem['msg'].removeprefix('Value error, ')}") from None


def launch(spec: JobSpec, queued: bool) -> None:
    """Submits the spec; runs it here with a live view, or hands it to the workers and prints its id."""
    settings = Settings()
    store = open_store(settings)
    job_id = submit(store, settings, spec, TaskQueue(settings) if queued else None)
    if queued:
        typer.echo(f"{_noun(spec.kind)} {job_id} queued on {masked(settings.broker_url or '')}")
        typer.echo(f"follow it: evolver watch {job_id}  |  evolver status {job_id}")
        return
    with SandboxPool(settings.sandbox_workers) as pool, _live(spec.models, spec.kind) as on_progress:
        Engine(store, settings, pool).run(job_id, on_progress)
    outcome(store, job_id)


def resume(job_id: int, queued: bool) -> None:
    """Continues an interrupted job: here, or by sending what it waits for to the workers."""
    settings = Settings()
    store = open_store(settings)
    job = store.job(job_id)
    if job is None:
        raise InputError(f"no job {job_id}; `evolver jobs` lists them")
    if queued:
        queue = TaskQueue(settings)
        queue.check()
        engine = Engine(store, settings)
        engine.resume(job_id)
        sent = kick(engine, queue, job_id)
        typer.echo(f"{_noun(job.kind)} {job_id}: {sent} step(s) sent to the workers; follow it: evolver watch {job_id}")
        return
    with SandboxPool(settings.sandbox_workers) as pool, _live(job.models, job.kind) as on_progress:
        engine = Engine(store, settings, pool)
        engine.resume(job_id)
        engine.run(job_id, on_progress)
    outcome(store, job_id)


def outcome(store: Store, job_id: int) -> None:
    """How the job ended, its leaderboard if it is a tournament, and what to do next."""
    job = store.job(job_id)
    assert job is not None
    if job.kind == "tournament":
        show(leaderboard_table(store, job))
    typer.echo(f"{_noun(job.kind)} {job_id}: {job.status}{f' ({job.error})' if job.error else ''}")
    typer.echo(f"next: evolver lineage {job_id}  |  evolver export --job {job_id} --best -o player.py")


def leaderboard_table(store: Store, job: JobRow) -> Table:
    """The tournament's leaderboard as a table."""
    frame = leaderboard(store, job.id)
    table = Table(title=f"tournament {job.id}: {job.scenario}, {job.comp}")
    for column in frame.columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in frame.itertuples(index=False):
        cells = [report.format_number(value) if isinstance(value, float) else str(value) for value in row]
        cells[-1] = f"{row.cost:.4f}"
        table.add_row(*cells)
    return table


def standings(progress: Progress | None, models: tuple[str, ...], kind: str) -> Group:
    """The live view: every model's best score, calls and cost, and the last candidate."""
    title = "starting" if progress is None else f"{_noun(kind)} {progress.job_id}, phase {progress.phase + 1}"
    title += f"/{progress.phases}" if progress else ""
    table = Table(title=title)
    for column, justify in (("model", "left"), ("best", "right"), ("calls", "right"), ("cost $", "right")):
        table.add_column(column, justify=justify)
    for model in models:
        best = progress.best.get(model) if progress else None
        calls = progress.calls.get(model, 0) if progress else 0
        spent = progress.cost.get(model, 0.0) if progress else 0.0
        table.add_row(model, report.format_number(best), str(calls), f"{spent:.4f}")
    if progress is None:
        return Group(table)
    last = progress.candidate
    text = f"last: {last.model_id} {last.op} -> {last.status}"
    if last.score is not None:
        text += f", score {report.format_number(last.score)}{' (improved)' if last.improved else ''}"
    return Group(table, Text(text))


@contextmanager
def _live(models: tuple[str, ...], kind: str) -> Iterator[Callable[[Progress], None]]:
    console = Console()
    with Live(standings(None, models, kind), console=console, transient=False) as live:
        yield lambda progress: live.update(standings(progress, models, kind))
    if not console.is_terminal:
        console.line()  # a live view ends its last line only on a terminal


def _noun(kind: str) -> str:
    return "job" if kind == "evolve" else kind
