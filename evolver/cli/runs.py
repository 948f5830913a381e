"""What the job commands share: opening the store, building a spec, and running a job here or on the queue.
The commands import this module when they run (it loads the database, queue and sandbox stacks).

A job runs in-process with a live view unless `--queue` sends it to the workers (EVOLVER_BROKER_URL), in
which case the command prints its id and `evolver status ID` / `evolver watch ID` follow it.

A run here that is stopped (Ctrl-C, SIGTERM from `kill`, `timeout` or a container stop) is marked
`interrupted`, says how to continue it (`evolver resume ID`) and exits 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import typer
from pydantic import ValidationError
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from evolver import report
from evolver.cli.edge import PLAYER_FAILED, InputError, me, show
from evolver.cli.views import heldout_text, leaderboard_table, noun, standings_table
from evolver.engine import Engine, Progress
from evolver.errors import EvolverError, Interrupted
from evolver.games import JobReference
from evolver.job import JobSpec
from evolver.launch import open_store, submit
from evolver.queue import TaskQueue, kick
from evolver.settings import Settings
from evolver.state import interrupted, job_state
from evolver.store import Standing, Store
from evolver.store.database import masked
from sandbox import SandboxPool

FLAGS = {"seed": "--search-seed", "seeds": "--seed", "heldout": "--heldout-seed", "models": "--model"}
"""A spec's field -> the option that sets it."""
SIGINT_EXIT, SIGTERM_EXIT = 130, 143  # 128 + the signal's number, as a shell reports it


def make_spec(**fields: object) -> JobSpec:
    """The spec, or an InputError naming the option that was wrong."""
    try:
        return JobSpec(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        where = f"{FLAGS.get(field, '--' + field.replace('_', '-'))}: " if field else ""
        raise InputError(f"{where}{problem['msg'].removeprefix('Value error, ')}") from None


def seed_fields(seeds: list[int] | None, heldout: list[int] | None, no_heldout: bool) -> dict[str, object]:
    """The spec's `seeds` and `heldout` from `--seed`, `--heldout-seed` and `--no-heldout` (None: the game's)."""
    if heldout and no_heldout:
        raise InputError("--no-heldout: give it or --heldout-seed, not both")
    return {
        "seeds": tuple(seeds) if seeds else None,
        "heldout": () if no_heldout else tuple(heldout) if heldout else None,
    }


def launch(spec: JobSpec, queued: bool) -> None:
    """Submits the spec; runs it here with a live view, or hands it to the workers and prints its id."""
    settings = Settings()
    store = open_store(settings, write=True)
    job_id = submit(store, settings, spec, TaskQueue(settings) if queued else None)
    if queued:
        typer.echo(f"{noun(spec.kind)} {job_id} queued on {masked(settings.broker_url or '')}")
        typer.echo(f"follow it: {me()} watch {job_id}  |  {me()} status {job_id}")
        return
    _run_here(store, settings, job_id, spec.models, spec.kind)


def resume(job_id: int, queued: bool) -> None:
    """Continues an interrupted job: here, or by sending what it waits for to the workers."""
    settings = Settings()
    store = open_store(settings, write=True)
    job = store.job(job_id)
    if job is None:
        raise InputError(f"no job {job_id}; `evolver jobs` lists them")
    queue = TaskQueue(settings) if queued else None
    if queue is not None:
        queue.check()
    engine = Engine(store, settings)
    engine.resume(job_id)  # refused before anything starts: a finished job, a model that cannot be used
    if queue is not None:
        sent = kick(engine, queue, job_id)
        typer.echo(f"{noun(job.kind)} {job_id}: {sent} step(s) sent to the workers; follow it: {me()} watch {job_id}")
        return
    _run_here(store, settings, job_id, job.models, job.kind)


def _run_here(store: Store, settings: Settings, job_id: int, models: tuple[str, ...], kind: str) -> None:
    """Runs the job in this process with a live view, then says how it ended (exit 1 if it failed)."""
    job = store.job(job_id)
    reference = JobReference.read(job.reference if job else None)
    with _sigterm_interrupts():
        try:
            with SandboxPool(settings.sandbox_workers) as pool, _live(models, kind, reference) as on_progress:
                try:
                    Engine(store, settings, pool).run(job_id, on_progress)
                except (KeyboardInterrupt, Interrupted) as exc:
                    _stopped(store, job_id, kind, exc)  # before the pool closes under steps still running
        except (KeyboardInterrupt, Interrupted) as exc:  # while the pool started or stopped
            _stopped(store, job_id, kind, exc)
        except EvolverError as exc:  # the run marked the job failed with it; said after the live view's last line
            typer.echo(f"error: {noun(kind)} {job_id} failed: {' '.join(str(exc).split())}; once that is "
                       f"fixed, `evolver resume {job_id}` continues it", err=True)  # fmt: skip
            raise typer.Exit(PLAYER_FAILED) from None
    outcome(store, job_id)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises Interrupted in this (the main) thread, as SIGINT raises KeyboardInterrupt."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped(store: Store, job_id: int, kind: str, exc: BaseException) -> None:
    """Marks the job interrupted (if the run had not), says how to continue it, and exits 130 or 143 at once:
    steps still under way after the engine's grace would otherwise hold the process until they end."""
    typer.echo(f"{noun(kind)} {job_id} {interrupted(store, job_id, exc)}", err=True)
    code = SIGINT_EXIT if isinstance(exc, KeyboardInterrupt) else SIGTERM_EXIT
    if any(thread.name.startswith("evolver-step") and thread.is_alive() for thread in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise typer.Exit(code)


def outcome(store: Store, job_id: int) -> None:
    """How the job ended, its leaderboard if it is a tournament, and what to do next (exit 1 if it failed)."""
    state = job_state(store, job_id)
    assert state is not None
    job = state.job
    if job.kind == "tournament":
        show(leaderboard_table(store, job))
    for standing in state.standings:
        if standing.retired:
            typer.echo(f"{standing.model} retired: {standing.retired}")
    typer.echo(f"{noun(job.kind)} {job_id}: {job.status}{f' ({job.error})' if job.error else ''}")
    if state.best is not None:
        typer.echo(f"next: {me()} lineage {job_id}  |  {me()} export --job {job_id} --best -o player.py")
    else:
        typer.echo(f"no candidate evaluated ok; `{me()} lineage {job_id}` shows why each failed")
    if job.status == "failed":
        raise typer.Exit(PLAYER_FAILED)


def standings(
    progress: Progress | None, models: tuple[str, ...], kind: str, reference: JobReference | None = None
) -> Group:
    """The live view: every model's best score, calls and cost, and the last candidate (the scores with their
    shares of the optimum profit, given the job's reference)."""
    if progress is None:
        return Group(standings_table("starting", [Standing(model, None, None, 0, 0.0) for model in models]))
    title = f"{noun(kind)} {progress.job_id}, phase {progress.phase + 1}/{progress.phases}"
    table = standings_table(title, progress.standings, reference)
    last = progress.candidate
    text = f"last: {last.model_id} {last.op} -> {last.status}"
    if last.score is not None:
        score = report.with_share(last.score, reference.train if reference else None)
        text += f", score {score}{' (improved)' if last.improved else ''}"
    return Group(table, Text(text).append_text(heldout_text(last, reference)))


@contextmanager
def _live(models: tuple[str, ...], kind: str, reference: JobReference) -> Iterator[Callable[[Progress], None]]:
    console = Console()
    try:
        with Live(standings(None, models, kind), console=console, transient=False) as live:
            yield lambda progress: live.update(standings(progress, models, kind, reference))
    finally:
        if not console.is_terminal:
            console.line()  # a live view ends its last line only on a terminal
