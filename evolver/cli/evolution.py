"""The evolution commands: `evolve` (with a live view, or `--queue`), `jobs`, `lineage`, `show` and `export`.

With no key and no network, `evolver evolve ai3_plugins` runs offline on SQLite with `local:gp`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from evolver import report
from evolver.cli.edge import (
    EVOLUTION,
    EvalSeedsOpt,
    HeldoutSeedsOpt,
    InputError,
    NoHeldoutOpt,
    QueueOpt,
    ReplayOpt,
    ScenarioArg,
    SearchSeedOpt,
    app,
    check_outputs,
    show,
    user_errors,
    wrote,
)

if TYPE_CHECKING:
    from evolver.games import JobReference, SetReference
    from evolver.store import CandidateRow, EvaluationRow

ERROR_CHARS = 100  # of a failed candidate's error in the lineage tree (`evolver show` has it whole)


@app.command("evolve", rich_help_panel=EVOLUTION)
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
    eval_seeds: EvalSeedsOpt = None,
    heldout_seeds: HeldoutSeedsOpt = None,
    no_heldout: NoHeldoutOpt = False,
    search_seed: SearchSeedOpt = 0,
    years: Annotated[float | None, typer.Option("--years", help="Years each evaluation simulates.")] = None,
    replay: ReplayOpt = None,
    queued: QueueOpt = False,
) -> None:
    """Evolve players for a scenario's slot: models take turns to init, improve and beat (judged on the training
    seeds); each player is also scored on the held-out seeds."""
    from evolver.cli import runs

    with user_errors():
        spec = runs.make_spec(
            scenario=scenario, models=tuple(models or ("local:gp",)), goal=goal, comp=comp, generations=generations,
            attempts=attempts, max_cost=max_cost, seed=search_seed, years=years, replay=replay,
            **runs.seed_fields(eval_seeds, heldout_seeds, no_heldout),
        )  # fmt: skip
        runs.launch(spec, queued)


@app.command("jobs", rich_help_panel=EVOLUTION)
def jobs() -> None:
    """List the jobs in the store: each one's best score (on its training seeds), that player's held-out score and
    the gap; where the game has an optimum, each score's share of the optimum profit."""
    from evolver.cli import views
    from evolver.games import JobReference
    from evolver.store.rows import gap

    with user_errors():
        store = views.read_store()
        rows = store.jobs()
    references = {job.id: JobReference.read(job.reference) for job in rows}
    table = Table(title="jobs", caption=report.share_legend(references.values()))
    for column in ("job", "kind", "scenario", "models", "comp", "status", "best", "held-out", "gap", "created"):
        table.add_column(column)
    for job in rows:
        _, best, heldout = store.top(job.id, job.direction) or (None, None, None)
        reference = references[job.id]
        table.add_row(
            str(job.id), job.kind, job.scenario, ", ".join(job.models), job.comp, job.status,
            report.with_share(best, reference.train), report.with_share(heldout, reference.heldout),
            views.signed(gap(best, heldout)), f"{job.created_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    show(table)


def _label(candidate: CandidateRow, parent: CandidateRow | None, reference: JobReference) -> Text:
    """`#7 improve local:gp (gen 3, diff, ideas #4 #5) score 51 (+1.5) improved held-out 49.5 (gap -1.5)`, each
    score with its share of the optimum profit where the job has a reference (`score 51 (63.2 %, +1.5)`), or the
    status and error; a reply's SEARCH/REPLACE edit and the inspirations it was shown are noted with the generation."""
    from evolver.cli.views import heldout_text, signed

    choice = candidate.choice or {}
    notes = [f"gen {candidate.generation + 1}", *(["diff"] if choice.get("edit") == "diff" else [])]
    if choice.get("inspirations"):
        notes.append("ideas " + " ".join(f"#{other}" for other in choice["inspirations"]))
    text = Text(f"#{candidate.id} {candidate.op} {candidate.model_id} ({', '.join(notes)}) ")
    if candidate.score is None:
        error = textwrap.shorten(report.printable(candidate.error or ""), ERROR_CHARS, placeholder=" …")
        text.append(f"{candidate.status}: {error}", style="red")
        return text
    text.append(f"score {report.format_number(candidate.score)}", style="bold")
    delta = None if parent is None or parent.score is None else candidate.score - parent.score
    notes = [report.share_mark(candidate.score, reference.train), None if delta is None else signed(delta)]
    if any(notes):
        text.append(f" ({', '.join(filter(None, notes))})", style="green" if delta is not None and delta > 0 else "")
    if candidate.improved:
        text.append(" improved", style="green")
    return text.append_text(heldout_text(candidate, reference))


@app.command("lineage", rich_help_panel=EVOLUTION)
def lineage(job_id: Annotated[int, typer.Argument(help="A job id (see `evolver jobs`).")]) -> None:
    """A job's candidates as a tree: op, model, score and improvement over the parent (on the training seeds), and
    the held-out score with its gap; where the game has an optimum, each score's share of the optimum profit."""
    from evolver.cli import views
    from evolver.games import JobReference

    with user_errors():
        store = views.read_store()
        job = store.job(job_id)
        if job is None:
            raise InputError(f"no job {job_id}; `evolver jobs` lists them")
        candidates = store.lineage(job_id)
    by_id = {c.id: c for c in candidates}
    reference = JobReference.read(job.reference)
    legend = report.share_legend([reference])
    root = Tree(f"job {job.id}: {job.scenario}, {job.comp}, {job.status}" + (f"\n{legend}" if legend else ""))
    nodes: dict[int, Tree] = {}
    for candidate in candidates:  # parents come before their children
        parent = by_id.get(candidate.parent_id) if candidate.parent_id else None
        branch = nodes.get(parent.id, root) if parent else root
        nodes[candidate.id] = branch.add(_label(candidate, parent, reference))
    Console().print(root)


@app.command("show", rich_help_panel=EVOLUTION)
def show_candidate(
    candidate_id: Annotated[int, typer.Argument(help="A candidate id (see `evolver lineage`).")],
) -> None:
    """A candidate: its scores on the training and held-out seeds (with their shares of the optimum profit where
    the game has an optimum), its code, the diff against its parent, its metrics and its error if any."""
    from evolver.cli import views
    from evolver.games import JobReference
    from evolver.lineage import code_diff

    with user_errors():
        store = views.read_store()
        candidate = store.candidate(candidate_id)
        if candidate is None:
            raise InputError(f"no candidate {candidate_id}; `evolver lineage JOB` lists a job's candidates")
        parent = store.candidate(candidate.parent_id) if candidate.parent_id else None
        evaluations = store.evaluations(candidate_id)
        job = store.job(candidate.job_id)
    reference = JobReference.read(job.reference if job else None)
    console = Console()
    console.print(_label(candidate, parent, reference))
    console.print(f"job {candidate.job_id}, tokens {candidate.tokens_in}/{candidate.tokens_out}, "
                  f"cost ${candidate.cost:.4f}, {candidate.latency_ms:.0f} ms")  # fmt: skip
    if candidate.choice:
        console.print(_choice_line(candidate.choice))
    for evaluation in evaluations:
        console.print(_evaluation_line(evaluation, reference.heldout if evaluation.heldout else reference.train))
    if candidate.code:
        console.print(Syntax(candidate.code, "python", line_numbers=True))
    if parent is not None and parent.code and candidate.code:
        console.print(Syntax(code_diff(parent, candidate) or "(no change)", "diff"))
    if candidate.metrics:
        show(report.metrics_table(candidate.metrics, f"candidate {candidate.id}, training seeds"))
    for evaluation in evaluations:
        if evaluation.heldout and evaluation.metrics:
            show(report.metrics_table(evaluation.metrics, f"candidate {candidate.id}, held-out seeds"))
    if candidate.error:
        console.print(Text(f"{candidate.status}: {_error(candidate.error, candidate.error_line)}", style="red"))


def _choice_line(choice: dict) -> Text:
    """`chosen: parent #3, target #5, ideas from #4 #9 (why: ...); the reply edited by diff`."""
    shown = [f"{name} #{choice[name]}" for name in ("parent", "target") if choice.get(name) is not None]
    if choice.get("inspirations"):
        shown.append("ideas from " + " ".join(f"#{other}" for other in choice["inspirations"]))
    why = f" (why: {report.printable(choice['why'])})" if choice.get("why") else ""
    edit = {"diff": "; the reply edited by diff", "rewrite": "; the reply rewrote the code"}.get(choice.get("edit"), "")
    return Text(f"chosen: {', '.join(shown) or 'nothing to start from'}{why}{edit}")


def _evaluation_line(evaluation: EvaluationRow, reference: SetReference | None) -> Text:
    """`training seeds [0, 1]: ok, score 51` (and its share of the optimum profit, given the seed set's reference:
    `, 63.2 % of the optimum profit (idle 50, optimum 64.7209)`), or `held-out seeds [7]: runtime_error: line 3: ...`
    (a training error is the candidate's own, printed last)."""
    which = "held-out" if evaluation.heldout else "training"
    text = Text(f"{which} seeds {evaluation.seeds}: {evaluation.status}")
    if evaluation.status == "ok":
        share = report.share_text(evaluation.score, reference)
        return text.append(f", score {report.format_number(evaluation.score)}" + (f", {share}" if share else ""))
    if evaluation.heldout and evaluation.error:
        text.append(f": {_error(evaluation.error, evaluation.error_line)}", style="red")
    return text


def _error(error: str, line: int | None) -> str:
    return f"{f'line {line}: ' if line else ''}{report.printable(error)}"


@app.command("export", rich_help_panel=EVOLUTION)
def export(
    candidate_id: Annotated[int | None, typer.Argument(help="The candidate to export.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="The .py file to write.")] = Path("player.py"),
    job_id: Annotated[int | None, typer.Option("--job", help="With --best: the job to export from.")] = None,
    best: Annotated[bool, typer.Option("--best", help="Export the job's best candidate.")] = False,
) -> None:
    """Write a candidate that evaluated ok as a standalone player module (`evolver evaluate SCENARIO FILE`
    re-scores it)."""
    from evolver.cli import views
    from evolver.export import best_candidate, export_text

    with user_errors():
        if (candidate_id is None) == (job_id is None or not best):
            raise InputError("give a CANDIDATE id, or --job J --best (not both)")
        check_outputs(output)
        store = views.read_store()
        chosen = candidate_id if candidate_id is not None else best_candidate(store, job_id)  # type: ignore[arg-type]
        text = export_text(store, chosen)
        report.write_text(output, text)
    wrote(output)
