"""The `optimise` command: the scenario inputs that minimise (or maximise) an outcome over seeds, under a constraint,
found by a kept optimiser (Optuna's TPE or CMA-ES: `simcore.optimise`), e.g. the AI resource economy's bonding-curve
parameters with the least volatile prices (the paper's §7.3 problem)."""

from __future__ import annotations

from typing import Annotated

import typer

from evolver import report
from evolver.cli.edge import (
    SIMULATION,
    CsvOpt,
    InputError,
    JsonOpt,
    ScenarioArg,
    SeedOpt,
    YearsOpt,
    app,
    check_outputs,
    progress_bar,
    show,
    user_errors,
    write_csv,
    write_json,
)
from evolver.cli.simulation import case_span, parse_cases


@app.command("optimise", rich_help_panel=SIMULATION)
def optimise(
    scenario: ScenarioArg,
    vary: Annotated[
        list[str],
        typer.Option("--vary", metavar="VAR[=lo:hi]", help="A variable to search (default: its bounds). Repeatable."),
    ],
    minimise: Annotated[str | None, typer.Option("--min", metavar="VAR", help="The outcome to minimise.")] = None,
    maximise: Annotated[str | None, typer.Option("--max", metavar="VAR", help="The outcome to maximise.")] = None,
    within: Annotated[
        list[str] | None,
        typer.Option(
            "--within",
            metavar="VAR=lo:hi",
            help="A constraint on an outcome's mean (lo: or :hi for one side). Repeatable.",
        ),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds each trial is averaged over (0, 1, ...).")] = 3,
    trials: Annotated[int, typer.Option("--trials", help="Evaluations of the optimiser.")] = 30,
    method: Annotated[str, typer.Option("--method", help="tpe (Optuna) or cmaes.")] = "tpe",
    log: Annotated[
        list[str] | None, typer.Option("--log", metavar="VAR", help="Search a --vary variable in its log. Repeatable.")
    ] = None,
    seed: SeedOpt = 0,
    years: YearsOpt = None,
    json_path: JsonOpt = None,
    csv_path: CsvOpt = None,
) -> None:
    """Search the varied variables for the best mean outcome over seeds, under constraints."""
    from simcore.optimise import optimise as search

    with user_errors():
        if (minimise is None) == (maximise is None):
            raise InputError("say what to optimise: --min VAR or --max VAR (one of them)")
        if seeds < 1:
            raise InputError(f"--seeds must be at least 1, got {seeds}")
        check_outputs(json_path, csv_path)
        ranges = {name: case_span(spec) for name, spec in parse_cases("--vary", vary).items()}
        constraint = {name: _bounds(name, text) for name, text in _pairs(within).items()} or None
        objective = minimise or maximise or ""
        with progress_bar(f"{scenario}: {trials} trials", trials) as progress:
            found = search(scenario, ranges, objective, "min" if minimise else "max", tuple(range(seeds)), trials,
                           seed, years=years, constraint=constraint, method=method, log=tuple(log or ()),
                           progress=progress)  # fmt: skip
        import pandas as pd

        best = pd.DataFrame({"value": {**found.best, objective: found.value, "feasible": found.feasible}})
        show(report.frame_table(best, f"{scenario}: best of {trials} trials ({method}, seeds 0-{seeds - 1})", ""))
        write_json(json_path, found.to_dict)
        write_csv(csv_path, found.table, index=True)


def _pairs(items: list[str] | None) -> dict[str, str]:
    from evolver.cli.edge import parse_pairs

    return parse_pairs("--within", items, "VAR=lo:hi, VAR=lo: or VAR=:hi")


def _bounds(name: str, text: str) -> tuple[float | None, float | None]:
    """`lo:hi`, `lo:` or `:hi` as a constraint's bounds."""
    from evolver.cli.edge import parse_number

    low, sep, high = text.partition(":")
    if not sep or not (low or high):
        raise InputError(f"--within {name}={text}: expected lo:hi, lo: or :hi")
    where = f"--within {name}={text}"
    return (parse_number(low, where) if low else None, parse_number(high, where) if high else None)
