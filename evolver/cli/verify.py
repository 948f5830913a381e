"""The `verify` command: a design verified as a chip is (`simcore.verification`), with adversaries this service
evolves.

With no `--spec`, each scenario is judged on its own criteria (`simcore.criteria`) and the result is a design matrix:
a row per criterion, a column per scenario, each cell ✓ or ✗ with the runs it held on and its median KPI. With
`--adversary MODEL`, each scenario's slot also gets an adversary evolved by a job (stored with its lineage like any
other), scored on the same seeds, for the criteria judged against it. With `--spec`, one scenario is checked against
the specs: Monte Carlo yield, and on request the rare-event estimate (`--rare`), the worst corner of parameters'
bounds (`--corner`) and their global sensitivity (`--sensitivity`). With `--queue`, the simulations and the adversary
jobs run on the Celery workers (EVOLVER_BROKER_URL).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evolver import report
from evolver.cli.edge import (
    SIMULATION,
    InputError,
    JsonOpt,
    QueueOpt,
    SeedOpt,
    YearsOpt,
    app,
    check_outputs,
    parse_pairs,
    progress_bar,
    show,
    user_errors,
    write_json,
    wrote,
)
from evolver.cli.simulation import case_span, case_values, parse_case, parse_cases, task_queue

if TYPE_CHECKING:
    from evolver.queue import TaskQueue
    from simcore.scenario import Scenario
    from simcore.verification.runs import Runner

ChartOpt = Annotated[Path | None, typer.Option("--chart", help="Draw the result as a PNG to this file.")]


@app.command("verify", rich_help_panel=SIMULATION)
def verify(
    scenarios: Annotated[list[str], typer.Argument(help="Built-in scenario names or .py files; one with --spec.")],
    specs: Annotated[
        list[str] | None,
        typer.Option("--spec", help="A KPI spec, e.g. 'bond.price >= 0.5 at every day'. Repeatable; all must hold."),
    ] = None,
    runs: Annotated[int, typer.Option("--runs", help="Monte Carlo runs (seeds) per design.")] = 30,
    seed: SeedOpt = 0,
    years: YearsOpt = None,
    pass_rate: Annotated[float, typer.Option("--pass-rate", help="Share of runs a criterion must hold on.")] = 0.9,
    adversary: Annotated[
        str | None, typer.Option("--adversary", help="A model id that evolves an adversary for each slot.")
    ] = None,
    generations: Annotated[int, typer.Option("--generations", help="The adversary job's generations.")] = 5,
    rare: Annotated[bool, typer.Option("--rare", help="With --spec: estimate the failure rate from the tail.")] = False,
    corners: Annotated[
        list[str] | None,
        typer.Option(
            "--corner",
            metavar="VAR[=a,b,c]",
            help="With --spec: a parameter of the worst-corner search "
            "(its bounds in --levels levels, or values). Repeatable.",
        ),
    ] = None,
    levels: Annotated[int, typer.Option("--levels", help="Levels of a --corner parameter over its bounds.")] = 5,
    sensitivity: Annotated[
        str | None, typer.Option("--sensitivity", help="With --spec and --vary: sobol or morris.")
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", metavar="VAR[=lo:hi]", help="A parameter of --sensitivity (default: its bounds)."),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", help="Base samples of --sensitivity (sobol: a power of 2).")
    ] = 64,
    queued: QueueOpt = False,
    json_path: JsonOpt = None,
    chart: ChartOpt = None,
) -> None:
    """Verify designs: fill a design matrix of their criteria (with evolved adversaries), or check specs by Monte
    Carlo yield, rare-event estimate, worst corners and sensitivity."""
    import simcore

    with user_errors():
        check_outputs(json_path, chart)
        if not 0 < pass_rate <= 1:
            raise InputError(f"--pass-rate must be in (0, 1], got {pass_rate}")
        loaded = [simcore.load_scenario(name) for name in scenarios]
        queue = task_queue() if queued else None
        if specs:
            if len(scenarios) != 1:
                raise InputError("--spec checks one scenario; give one, or leave out --spec for the criteria matrix")
            if adversary:
                raise InputError("--adversary fills a criteria matrix; leave out --spec")
            study = _specs(scenarios[0], loaded[0], specs, runs, seed, years, rare, corners, levels, sensitivity,
                           vary, samples, queue)  # fmt: skip
        else:
            if rare or corners or sensitivity or vary:
                raise InputError("--rare, --corner, --sensitivity and --vary check specs: give --spec")
            study = _matrix(scenarios, loaded, runs, seed, years, pass_rate, adversary, generations, queue)
        write_json(json_path, lambda: {name: result.to_dict() for name, result in study.items()})
        if chart is not None:
            next(reversed(study.values())).chart(chart)
            wrote(chart)


def _runner(ref: str, scenario: Scenario, queue: TaskQueue | None) -> Runner:
    """The house's runs of `scenario`: here, or in chunks on the workers (the scenario's text sent along)."""
    from simcore.verification.runs import seated_runner

    if queue is None:
        return seated_runner(scenario)
    from evolver.studies import celery_runner

    game = scenario.game
    return celery_runner(queue, ref, seated=game is not None and game.reference is not None)


def _matrix(
    refs: list[str], scenarios: list[Scenario], runs: int, seed: int, years: float | None, pass_rate: float,
    model: str | None, generations: int, queue: TaskQueue | None,
) -> dict[str, Any]:  # fmt: skip
    """Every scenario's criteria judged (against an evolved adversary too, with `model`), shown as one matrix."""
    from simcore.montecarlo import run_seed
    from simcore.verification.matrix import Column, Matrix, adversary_cells, house_cells

    bare = [s.name for s in scenarios if not s.criteria]
    if bare:
        raise InputError(f"{', '.join(bare)} declare no criteria: give --spec to check one scenario instead")
    if model:
        _check_model(model, scenarios)
    seeds = tuple(run_seed(seed, k) for k in range(runs))
    columns = []
    for ref, scenario in zip(refs, scenarios, strict=True):
        with progress_bar(f"{scenario.name}: {runs} runs", runs) as progress:
            cells, seen = house_cells(scenario, runs, seed, years, progress, _runner(ref, scenario, queue))
        found = None
        if model and any(criterion.judge == "adversary" for criterion in scenario.criteria):
            found = _adversary(ref, model, generations, seed, seeds, years, queue)
            cells += adversary_cells(scenario, seeds, seen, found.metrics)
        order = [criterion.name for criterion in scenario.criteria]
        cells = tuple(sorted(cells, key=lambda cell: order.index(cell.criterion.name)))
        title = scenario.title.split(": ", 1)[-1] or scenario.name
        columns.append(Column(scenario.name, title, cells, found.to_dict() if found else None))
    matrix = Matrix(tuple(columns), pass_rate)
    title = f"design matrix: {runs} runs each (seed {seed}), a ✓ holds on ≥ {pass_rate:.0%} of them"
    show(report.frame_table(matrix.table(), title, "criterion"))
    unjudged = [s.name for s in scenarios if any(c.judge == "adversary" for c in s.criteria) and not model]
    if unjudged:
        typer.echo(
            f"criteria judged against an adversary are left out without --adversary MODEL: {', '.join(unjudged)}"
        )
    for column in columns:
        if column.adversary:
            found = column.adversary
            typer.echo(f"{column.scenario}: adversary job {found['job']}, candidate {found['candidate']} "
                       f"(training score {report.format_number(found['score'])})")  # fmt: skip
    return {"matrix": matrix}


def _check_model(model: str, scenarios: list[Scenario]) -> None:
    """An InputError unless `model` can evolve an adversary here (its provider, key and price) and some scenario has
    a criterion judged against one; checked before anything runs."""
    from evolver.engine import check_model
    from evolver.pricing import load_prices
    from evolver.providers import get_provider
    from evolver.settings import Settings

    if not any(criterion.judge == "adversary" for s in scenarios for criterion in s.criteria):
        raise InputError("--adversary: none of these scenarios has a criterion judged against an adversary")
    settings = Settings()
    check_model(get_provider(model, settings), load_prices(settings.prices_path), model)


def _adversary(
    ref: str, model: str, generations: int, seed: int, seeds: tuple[int, ...], years: float | None,
    queue: TaskQueue | None,
) -> Any:  # fmt: skip
    """An adversary evolved for `ref`'s slot by a job (its game's training seeds), scored on the study's `seeds`."""
    from evolver.cli.runs import make_spec
    from evolver.launch import open_store
    from evolver.settings import Settings
    from evolver.studies import adversary
    from sandbox import SandboxPool

    settings = Settings()
    spec = make_spec(scenario=ref, models=(model,), generations=generations, seed=seed, years=years)
    store = open_store(settings, write=True)
    try:
        with SandboxPool(settings.sandbox_workers) as pool, progress_bar(f"{ref}: adversary", generations) as bar:
            found = adversary(store, settings, spec, seeds, pool, queue, lambda p: bar(p.phase + 1, p.phases))
    finally:
        store.close()
    typer.echo(f"{ref}: adversary job {found.job_id} ({model}, {generations} generations)", err=True)
    return found


def _specs(
    ref: str, scenario: Scenario, texts: list[str], runs: int, seed: int, years: float | None, rare: bool,
    corners: list[str] | None, levels: int, method: str | None, vary: list[str] | None, samples: int,
    queue: TaskQueue | None,
) -> dict[str, Any]:  # fmt: skip
    """The specs checked on one scenario: yield (or the tail estimate), then corners and sensitivity if asked."""
    from simcore import verification

    runner = _runner(ref, scenario, queue)
    study: dict[str, Any] = {}
    with progress_bar(f"{scenario.name}: {runs} runs", runs) as progress:
        if rare:
            tail = verification.rare_event(scenario, texts, runs, seed, years, progress=progress, runner=runner)
            study["rare"] = tail
        else:
            study["yield"] = verification.monte_carlo_yield(
                scenario, texts, runs, seed, years, progress=progress, runner=runner
            )
    for name, result in study.items():
        show(report.frame_table(_summary(result.to_dict()), f"{scenario.name}: {name}", "figure"))
    if corners:
        params = _levels(corners)
        with progress_bar(f"{scenario.name}: corners", 1) as progress:
            found = verification.worst_corner(scenario, texts, params, levels, seed=seed, years=years,
                                              progress=progress, runner=runner)  # fmt: skip
        study["corners"] = found
        title = (f"{scenario.name}: worst corners, {found.simulations} of {found.corners} simulated ({found.stop}); the"
                 f" worst found at simulation {found.found_at}")  # fmt: skip
        show(report.frame_table(found.table.head(10).set_index("rank"), title, "rank"))
    if method:
        if not vary:
            raise InputError("--sensitivity needs the parameters to vary: --vary VAR[=lo:hi] (repeatable)")
        ranges = {name: case_span(spec) for name, spec in parse_cases("--vary", vary).items()}
        with progress_bar(f"{scenario.name}: {method}", 1) as progress:
            found = verification.sensitivity(scenario, texts, ranges, method, samples, seed=seed, years=years,
                                             progress=progress, runner=runner)  # fmt: skip
        study["sensitivity"] = found
        show(report.frame_table(found.table, f"{scenario.name}: {method} sensitivity", "parameter"))
    return study


def _summary(data: dict[str, Any]) -> Any:
    """A study's scalar figures as a one-column table (pairs as `[low, high]`)."""
    import pandas as pd

    def cell(value: Any) -> Any:
        if isinstance(value, list) and all(isinstance(x, float) for x in value):
            return "[" + ", ".join(report.format_number(x) for x in value) + "]"
        return ", ".join(map(str, value)) if isinstance(value, list) else value

    figures = {key: cell(value) for key, value in data.items()
               if not isinstance(value, dict) and not (isinstance(value, list) and len(value) > 4)}  # fmt: skip
    return pd.DataFrame({"value": figures})


def _levels(items: list[str]) -> dict[str, Any]:
    """`--corner VAR` (its bounds, in --levels levels) or `--corner VAR=a,b,c` (these values)."""
    found: dict[str, Any] = {}
    for item in items:
        key = item.partition("=")[0].strip()
        if key in found:
            raise InputError(f"--corner {key!r} is given twice")
        text = parse_pairs("--corner", [item], "VAR or VAR=a,b,c")[key] if "=" in item else None
        found[key] = None if text is None else case_values(parse_case("--corner", key, text))
    return found
