"""The game commands: `games` (the built-in games, what each tests, its seeds and reference) and `reference`
(a game's optimum, idle score and reference player on given seeds)."""

from __future__ import annotations

from typing import Annotated

import typer

from evolver import report
from evolver.cli.edge import (
    EVOLUTION,
    InputError,
    JsonOpt,
    ScenarioArg,
    YearsOpt,
    app,
    check_outputs,
    show,
    user_errors,
    write_json,
)

ReferenceSeedsOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--seed", min=0, help="A seed to solve (default: the game's training and held-out seeds). Repeatable."
    ),
]


@app.command("games", rich_help_panel=EVOLUTION)
def games() -> None:
    """List the built-in games: what each tests, its seats, training and held-out seeds, and its reference.

    A game is a scenario with a slot; how to write one is in the README ("Write your own game").
    """
    from evolver.games import builtin_games

    with user_errors():
        show(report.games_table(builtin_games()))


@app.command("reference", rich_help_panel=EVOLUTION)
def reference(
    game: ScenarioArg, seeds: ReferenceSeedsOpt = None, years: YearsOpt = None, json_path: JsonOpt = None
) -> None:
    """A game's reference on each seed: the optimum (exact, or the best plan found: a lower bound), what a player
    that does nothing scores, and the game's reference player with its share of the optimum profit."""
    from evolver.games import REFERENCE_SEED_YEARS, references, seed_years
    from simcore import load_scenario

    with user_errors():
        check_outputs(json_path)
        scenario = load_scenario(game)
        if scenario.game is None:
            raise InputError(f"scenario {scenario.name!r} has no slot, so it is not a game; see `evolver games`")
        train, heldout = (seeds, []) if seeds else (scenario.game.train, scenario.game.heldout)
        total = seed_years(scenario, train, heldout, years)
        if scenario.game.optimum is not None and total > REFERENCE_SEED_YEARS:
            raise InputError(
                f"{total:g} seed-years to solve (seeds x years): the solver's time grows with the days, so this "
                f"command solves at most {REFERENCE_SEED_YEARS:g}; give fewer --seed or fewer --years"
            )
        refs = references(scenario, train, heldout, years)
        write_json(json_path, lambda: report.references_data(refs))
        show(report.references_table(scenario.name, refs))
