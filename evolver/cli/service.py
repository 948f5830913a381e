"""The service commands: `tournament`, and following and continuing runs: `status`, `watch`, `resume`."""

from __future__ import annotations

from typing import Annotated

import typer

from evolver.cli.edge import (
    EVOLUTION,
    SERVICE,
    EvalSeedsOpt,
    HeldoutSeedsOpt,
    JobArg,
    NoHeldoutOpt,
    QueueOpt,
    ReplayOpt,
    ScenarioArg,
    SearchSeedOpt,
    app,
    user_errors,
)


@app.command("tournament", rich_help_panel=EVOLUTION)
def tournament(
    scenario: ScenarioArg,
    models: Annotated[list[str], typer.Option("--model", help="A model id (provider:model). At least two.")],
    rounds: Annotated[int, typer.Option("--rounds", help="Rounds of challenges after every model's init.")] = 3,
    attempts: Annotated[int, typer.Option("--attempts", help="Tries per challenge and per improvement.")] = 3,
    eval_seeds: EvalSeedsOpt = None,
    heldout_seeds: HeldoutSeedsOpt = None,
    no_heldout: NoHeldoutOpt = False,
    search_seed: SearchSeedOpt = 0,
    comp: Annotated[
        str | None, typer.Option("--comp", help="METRIC, max:METRIC, min:METRIC or fn:NAME (default: the slot's).")
    ] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="Stop new calls past this many USD.")] = None,
    years: Annotated[float | None, typer.Option("--years", help="Years each evaluation simulates.")] = None,
    replay: ReplayOpt = None,
    queued: QueueOpt = False,
) -> None:
    """Models init, then each round try to beat every other model's champion and improve their own (judged on the
    training seeds); a leaderboard, with every champion's held-out score."""
    from evolver.cli import runs

    with user_errors():
        spec = runs.make_spec(
            kind="tournament", scenario=scenario, models=tuple(models), rounds=rounds, attempts=attempts,
            seed=search_seed, comp=comp, max_cost=max_cost, years=years, replay=replay,
            **runs.seed_fields(eval_seeds, heldout_seeds, no_heldout),
        )  # fmt: skip
        runs.launch(spec, queued)


@app.command("status", rich_help_panel=SERVICE)
def status(job_id: JobArg) -> None:
    """Where a job or tournament stands: its phase, every model's best, calls and cost, and its leaderboard."""
    from evolver.cli import views

    with user_errors():
        views.print_status(job_id)


@app.command("watch", rich_help_panel=SERVICE)
def watch(
    job_id: JobArg,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes.", min=0.1)] = 1.0,
) -> None:
    """Follow a job or tournament until it ends or is interrupted (exit 1 if it failed or was interrupted)."""
    from evolver.cli import views

    with user_errors():
        views.watch(job_id, interval)


@app.command("resume", rich_help_panel=SERVICE)
def resume_job(job_id: JobArg, queued: QueueOpt = False) -> None:
    """Continue an interrupted or failed job or tournament where it stopped; nothing finished is done again."""
    from evolver.cli import runs

    with user_errors():
        runs.resume(job_id, queued)
