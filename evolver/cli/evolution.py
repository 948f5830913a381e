"""The evolution commands: `evolve` (with a live view, or `--queue`), `jobs`, `lineage`, `show` and `export`.

With no key and no network, `evolver evolve ai3_plugins` runs offline on SQLite with `local:gp`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from evolver import report
from evolver.cli.edge import InputError, ScenarioArg, app, check_outputs, show, user_errors, wrote
from evolver.cli.runs import QueueOpt, ReplayOpt, launch, make_spec, open_store
from evolver.export import best_candidate, export_text
from evolver.lineage import code_diff
from evolver.settings import Settings
from evolver.store import CandidateRow


@app.command("evolve")
def evolve(
    scenario: ScenarioArg,
    models: Annotated[
        list[str] | None, typer.Option("--model", help="A model id (provider:model). Repeatable.")
    ] = None,
    goal: Annotated[str | None, typer.Option("--goal", help="The goal in words (default: the slot's).")] = None,
    comp: Annotated[
        str | None, typer.Option("--comp", help="METRIC, max:METRIC, min:METRIC or fn:NAME (default: the slot's).")
    ] = None,
    generations: Annotated[int, typer.Option("--generations", help="Turns per model.")] = 10,
    attempts: Annotated[int, typer.Option("--attempts", help="Tries per turn.")] = 3,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="Stop new calls past this many USD.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="The job's seed (the models' proposals).")] = 0,
    eval_seeds: Annotated[
        list[int] | None, typer.Option("--eval-seed", help="A seed every candidate is evaluated on. Repeatable.")
    ] = None,
    years: Annotated[float | None, typer.Option("--years", help="Years each evaluation simulates.")] = None,
    replay: ReplayOpt = None,
    queued: QueueOpt = False,
) -> None:
    """Evolve players for a scenario's slot: models take turns to init, improve and beat."""
    with user_errors():
        spec = make_spec(
            scenario=scenario, models=tuple(models or ("local:gp",)), goal=goal, comp=comp, generations=generations,
            attempts=attempts, max_cost=max_cost, seed=seed, seeds=tuple(eval_seeds or (0,)), years=years,
            replay=replay,
        )  # fmt: skip
        launch(spec, queued)


@app.command("jobs")
def jobs() -> None:
    """List the jobs in the store."""
    with user_errors():
        store = open_store(Settings())
        rows = store.jobs()
    table = Table(title="jobs")
    for column in ("job", "kind", "scenario", "models", "comp", "status", "best", "created"):
        table.add_column(column)
    for job in rows:
        top = store.top(job.id, job.direction)
        score = report.format_number(top[1]) if top else "—"
        table.add_row(
            str(job.id),
            job.kind,
            job.scenario,
            ", ".join(job.models),
            job.comp,
            job.status,
            score,
            f"{job.created_at:%Y-%m-%d %H:%M}",
        )
    show(table)


def _label(candidate: CandidateRow, parent: CandidateRow | None) -> Text:
    text = Text(f"#{candidate.id} {candidate.op} {candidate.model_id} (gen {candidate.generation + 1}) ")
    if candidate.score is None:
        text.append(f"{candidate.status}: {report.printable(candidate.error or '')[:80]}", style="red")
        return text
    text.append(f"score {report.format_number(candidate.score)}", style="bold")
    if parent is not None and parent.score is not None:
        delta = candidate.score - parent.score
        text.append(f" ({'+' if delta >= 0 else ''}{report.format_number(delta)})", style="green" if delta > 0 else "")
    if candidate.improved:
        text.append(" improved", style="green")
    return text


@app.command("lineage")
def lineage(job_id: Annotated[int, typer.Argument(help="A job id (see `evolver jobs`).")]) -> None:
    """A job's candidates as a tree: op, model, score and improvement over the parent."""
    with user_errors():
        store = open_store(Settings())
        job = store.job(job_id)
        if job is None:
            raise InputError(f"no job {job_id}; `evolver jobs` lists them")
        candidates = store.lineage(job_id)
    by_id = {c.id: c for c in candidates}
    root = Tree(f"job {job.id}: {job.scenario}, {job.comp}, {job.status}")
    nodes: dict[int, Tree] = {}
    for candidate in candidates:  # parents come before their children
        parent = by_id.get(candidate.parent_id) if candidate.parent_id else None
        branch = nodes.get(parent.id, root) if parent else root
        nodes[candidate.id] = branch.add(_label(candidate, parent))
    Console().print(root)


@app.command("show")
def show_candidate(
    candidate_id: Annotated[int, typer.Argument(help="A candidate id (see `evolver lineage`).")],
) -> None:
    """A candidate: its code, the diff against its parent, its metrics and its error if any."""
    with user_errors():
        store = open_store(Settings())
        candidate = store.candidate(candidate_id)
        if candidate is None:
            raise InputError(f"no candidate {candidate_id}; `evolver lineage JOB` lists a job's candidates")
        parent = store.candidate(candidate.parent_id) if candidate.parent_id else None
    console = Console()
    console.print(_label(candidate, parent))
    console.print(f"job {candidate.job_id}, tokens {candidate.tokens_in}/{candidate.tokens_out}, "
                  f"cost ${candidate.cost:.4f}, {candidate.latency_ms:.0f} ms")  # fmt: skip
    if candidate.code:
        console.print(Syntax(candidate.code, "python", line_numbers=True))
    if parent is not None and parent.code and candidate.code:
        console.print(Syntax(code_diff(parent, candidate) or "(no change)", "diff"))
    if candidate.metrics:
        show(report.metrics_table(candidate.metrics, f"candidate {candidate.id}"))
    if candidate.error:
        line = f"line {candidate.error_line}: " if candidate.error_line else ""
        console.print(Text(f"{candidate.status}: {line}{report.printable(candidate.error)}", style="red"))


@app.command("export")
def export(
    candidate_id: Annotated[int | None, typer.Argument(help="The candidate to export.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="The .py file to write.")] = Path("player.py"),
    job_id: Annotated[int | None, typer.Option("--job", help="With --best: the job to export from.")] = None,
    best: Annotated[bool, typer.Option("--best", help="Export the job's best candidate.")] = False,
) -> None:
    """Write a candidate as a standalone player module (`evolver evaluate SCENARIO FILE` re-scores it)."""
    with user_errors():
        if (candidate_id is None) == (job_id is None or not best):
            raise InputError("give a CANDIDATE id, or --job J --best (not both)")
        check_outputs(output)
        store = open_store(Settings())
        chosen = candidate_id if candidate_id is not None else best_candidate(store, job_id)  # type: ignore[arg-type]
        text = export_text(store, chosen)
        report.write_text(output, text)
    wrote(output)
