"""The simulation commands: `scenarios`, `simulate` (once, Monte Carlo, or a player file in the slot),
`fuzz` and `evaluate`. With `--queue`, a Monte Carlo's runs and a fuzz's cases run in chunks on the Celery workers
(`evolver.studies.celery_runner`), with the results of a run here.

A player file that was run in the sandbox and failed (`evaluate`, `simulate --player`) is the candidate's
result, not a mistake: its status and error go to stdout and the exit code is 1.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import sandbox  # cheap: its names load on first use, so commands that run no player never load the sandbox
from evolver import report
from evolver.cli.edge import (
    PLAYER_FAILED,
    SIMULATION,
    CsvOpt,
    InputError,
    JsonOpt,
    PlayerArg,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    WorkersOpt,
    YearsOpt,
    app,
    check_outputs,
    parse_number,
    parse_pairs,
    progress_bar,
    show,
    user_errors,
    write_csv,
    write_json,
    wrote,
)
from sandbox import contract

if TYPE_CHECKING:
    import pandas as pd

    import simcore
    from evolver.queue import TaskQueue
    from sandbox.evaluation import Evaluation
    from simcore.fuzz import CaseSpec
    from simcore.netlists import NetlistInfo
    from simcore.verification.runs import Runner

QueueRunsOpt = Annotated[
    bool,
    typer.Option(
        "--queue/--no-queue",
        help="Run in chunks on the Celery workers (EVOLVER_BROKER_URL), with the results of a run here.",
    ),
]


def parse_overrides(items: list[str] | None) -> dict[str, int | float]:
    """`--set VAR=NUMBER` items as variable overrides."""
    pairs = parse_pairs("--set", items, "VAR=NUMBER, e.g. iusdcl=25")
    return {key: parse_number(value, f"--set {key}={value}") for key, value in pairs.items()}


CASE = "VAR=start:stop[:step], VAR=a,b,c or VAR (a component parameter, over its bounds), e.g. iusdcl=10:101"


def parse_case(option: str, key: str, text: str) -> CaseSpec:
    """One `--case` (or `--vary`) value: `start:stop[:step]` (stop excluded; all ints give a `range`, else a `Span`)
    or a list `a,b,c`. A float range without a step is kept: random and lhs sampling draw from it, the grid
    asks for a step."""
    import simcore

    where = f"{option} {key}={text}"
    if ":" in text:
        bounds = [parse_number(part, where) for part in text.split(":")]
        if len(bounds) not in (2, 3):
            raise InputError(f"{where}: expected start:stop or start:stop:step")
        if all(isinstance(bound, int) for bound in bounds):
            if len(bounds) == 3 and bounds[2] == 0:
                raise InputError(f"{where}: the step must not be 0")
            return range(*bounds)
        return simcore.Span(*bounds)
    if "," in text:
        return [parse_number(part, where) for part in text.split(",")]
    raise InputError(f"{where}: expected start:stop[:step] (stop excluded) or a list of values a,b,c")


def simcore_span() -> type:
    """simcore's float range class (simcore loads when a command runs, not when the CLI is imported)."""
    import simcore

    return simcore.Span


def case_values(spec: CaseSpec) -> list[Any]:
    """The values of a parsed `start:stop[:step]` or `a,b,c` (a float range needs its step)."""
    try:
        return list(spec.values()) if hasattr(spec, "values") else list(spec)
    except ValueError as exc:  # simcore's SimulationError: a float range without a step
        raise InputError(str(exc)) from None


def case_span(spec: CaseSpec | None) -> tuple[float, float] | None:
    """A parsed `lo:hi` (its ends) or list (its least and greatest values) as (low, high), or None (a bare VAR: its
    component parameter's bounds)."""
    if spec is None:
        return None
    if isinstance(spec, (range, simcore_span())):
        return float(spec.start), float(spec.stop)  # `lo:hi`, whether written in ints or floats: its two ends
    values = case_values(spec)
    return float(min(values)), float(max(values))


def parse_cases(option: str, items: list[str] | None) -> dict[str, CaseSpec | None]:
    """`--case VAR=SPEC` (or `--vary`) items, in order; a bare `VAR` has no values (None): it ranges over its
    component parameter's bounds."""
    cases: dict[str, CaseSpec | None] = {}
    for item in items or []:
        key = item.partition("=")[0].strip()
        if key in cases:
            raise InputError(f"{option} {key!r} is given twice")
        if "=" not in item and (not key or any(c.isspace() for c in key)):
            raise InputError(f"{option} {item!r}: expected {CASE}")
        text = parse_pairs(option, [item], CASE)[key] if "=" in item else None
        cases[key] = None if text is None else parse_case(option, key, text)
    return cases


def parse_find(items: list[str] | None) -> dict[str, str]:
    """`--find VAR=max|min` items as fuzz targets."""
    targets = parse_pairs("--find", items, "VAR=max or VAR=min, e.g. aip=max")
    for key, how in targets.items():
        if how not in ("max", "min"):
            raise InputError(f"--find {key}={how}: expected max or min")
    return targets


def task_queue() -> TaskQueue:
    """The queue of the broker at EVOLVER_BROKER_URL, checked to answer now (a QueueError says what to fix)."""
    from evolver.queue import TaskQueue
    from evolver.settings import Settings

    queue = TaskQueue(Settings())
    queue.check()
    return queue


def _runner(scenario: str, queued: bool, workers: int) -> Runner:
    """What runs a Monte Carlo's runs or a fuzz's cases: processes here, or with `queued` the workers."""
    from simcore.batch import run_many

    if not queued:
        return run_many
    if workers != 1:
        raise InputError("--workers is for processes here; with --queue the workers' processes run: leave out one")
    from evolver.studies import celery_runner

    return celery_runner(task_queue(), scenario)


def _years(years: float) -> str:
    return f"{years:g} year{'' if years == 1 else 's'}"


def _write_outputs(
    json_path: Path | None,
    json_data: Callable[[], Any],
    csv_path: Path | None,
    table: Callable[[], pd.DataFrame],
    index: bool = False,
) -> None:
    """Write the JSON and the CSV if asked for (each built only then), and say so on stderr."""
    write_json(json_path, json_data)
    write_csv(csv_path, table, index)


def _write_plot(
    path: Path, frame: pd.DataFrame, scenario: simcore.Scenario, extra: Sequence[Mapping[str, Any]] = ()
) -> None:
    from evolver import charts

    charts.write_chart(path, frame, scenario.graphs, scenario.title or scenario.name, extra)
    wrote(path)


def _read_player(path: Path) -> str:
    """The player file's text; a missing, unreadable or non-UTF-8 file is an InputError."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the player file {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _run_player(
    scenario: str, player: Path, seeds: Sequence[int], years: float | None, detail: bool = False
) -> tuple[Evaluation, simcore.Scenario, simcore.Slot]:
    """Evaluate the player file in the scenario's slot, sandboxed. The caller's mistakes raise (a SandboxError
    for an unknown scenario, one without a slot, a bad seed); the player's come back in the Evaluation."""
    import simcore

    code = _read_player(player)
    limits = sandbox.Limits(max_report_bytes=contract.DETAIL_REPORT_BYTES) if detail else None
    evaluation = sandbox.evaluate(code, scenario, seeds, years, limits, detail)
    loaded = simcore.load_scenario(scenario)
    assert loaded.slot is not None, "the sandbox evaluates only scenarios with a slot"
    return evaluation, loaded, loaded.slot


def _show_outcome(evaluation: Evaluation, slot: simcore.Slot) -> None:
    """What the player printed (cut short), then its status with the score or the error."""
    if evaluation.stdout:
        typer.echo(f"the player printed:\n{report.printed_excerpt(evaluation.stdout)}")
    typer.echo(report.outcome_line(evaluation, slot))


def _training_seeds(scenario: str) -> list[int]:
    """The scenario's game's training seeds; [0] for a scenario that is no game (the sandbox then says why)."""
    import simcore

    try:
        game = simcore.load_scenario(scenario).game
    except simcore.ScenarioError:
        return [0]
    return list(game.train) if game is not None else [0]


def _show_share(scenario: simcore.Scenario, evaluation: Evaluation, years: float | None) -> None:
    """The score's share of the optimum profit on its seeds, when the game knows its optimum (as a job shows it)."""
    from evolver.comp import parse_comp
    from evolver.games import SetReference, job_reference_for

    assert scenario.slot is not None
    comp = parse_comp(f"{scenario.slot.direction}:{scenario.slot.comp}", scenario)
    stored = job_reference_for(scenario, comp, evaluation.seeds, (), years)
    text = stored and report.share_text(evaluation.score, SetReference.read(stored["train"]))
    if text:
        typer.echo(f"share: {text}")


def _run_title(scenario: simcore.Scenario, player: Path, years: float | None, seeds: Sequence[int]) -> str:
    seed_text = f"seed{'' if len(seeds) == 1 else 's'} {', '.join(map(str, seeds))}"
    return f"{scenario.name}: {player.name}, {_years(scenario.years if years is None else years)}, {seed_text}"


@app.command("scenarios", rich_help_panel=SIMULATION)
def scenarios(json_path: JsonOpt = None) -> None:
    """List the built-in scenarios, each with the components it composes (key: kind@version#hash), then the
    netlists; a netlist's game (the scenario of its name, which `evolve` plays and `simulate` leaves for the
    netlist) is on the netlist's line."""
    import simcore

    with user_errors():
        check_outputs(json_path)
        loaded = [simcore.load_scenario(name) for name in simcore.builtin_names()]
        show(report.scenarios_table(*_with_games(loaded)))
        write_json(json_path, lambda: report.scenarios_data(loaded, _netlists().values()))


@app.command("simulate", rich_help_panel=SIMULATION)
def simulate(
    scenario: ScenarioArg,
    years: YearsOpt = None,
    overrides: SetOpt = None,
    seed: SeedOpt = 0,
    runs: Annotated[
        int | None, typer.Option("--runs", help="Monte Carlo: run this many times, each with its own seed.")
    ] = None,
    workers: WorkersOpt = 1,
    json_path: JsonOpt = None,
    csv_path: CsvOpt = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="Draw the scenario's graphs of one run to this PNG file.")
    ] = None,
    player: Annotated[
        Path | None,
        typer.Option("--player", help="Play this file's fn(i, v, r, s, p) in the scenario's slot, sandboxed."),
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            metavar="VAR[=SPEC]",
            help="With --runs: draw the variable anew in every run, from start:stop[:step] or a,b,c, or (a bare VAR, "
            "a component's parameter) from its bounds. Repeatable.",
        ),
    ] = None,
    queued: QueueRunsOpt = False,
) -> None:
    """Simulate a scenario once (a table of every variable before and after the run), or --runs times.

    With --player, the file's player takes the scenario's slot in a sandboxed run; the exit code is 1 when the
    player fails (its status and error are shown), 2 for a usage error.
    """
    import simcore

    with user_errors():
        fixed, varied = parse_overrides(overrides), parse_cases("--vary", vary)
        netlist = _netlists().get(scenario)
        if netlist is not None:
            unused = {"--set": fixed, "--vary": varied, "--runs": runs is not None, "--player": player is not None,
                      "--seed": seed, "--queue": queued}  # fmt: skip
            if any(unused.values()):
                game = f" (to play a player in its game: `evolver evaluate {scenario} PLAYER`)" if player else ""
                raise InputError(
                    f"simulate runs {scenario} as a netlist, with no variables, randomness or slot: leave out "
                    + ", ".join(option for option, used in unused.items() if used)
                    + game
                )
            _simulate_netlist(netlist, years, json_path, csv_path, plot_path)
            return
        if varied and runs is None:
            raise InputError("--vary draws a variable anew in every run of a Monte Carlo: give --runs N")
        if queued and runs is None:
            raise InputError("--queue sends a Monte Carlo's runs to the workers: give --runs N, or leave out --queue")
        if queued and varied:
            raise InputError("--vary is not sent to the workers: leave out --queue to run the Monte Carlo here")
        if player is not None:
            if runs is not None:
                raise InputError("--player runs one sandboxed simulation; leave out --runs to use it")
            if fixed:
                raise InputError(
                    "--set cannot be used with --player: the sandbox runs the scenario as it is; leave out --set"
                )
            _simulate_player(scenario, player, years, seed, json_path, csv_path, plot_path)
            return
        if runs is not None and plot_path is not None:
            raise InputError("--plot draws a single run; leave out --runs to use it")
        check_outputs(json_path, csv_path, plot_path)
        loaded = simcore.load_scenario(scenario)
        length = _years(loaded.years if years is None else years)
        if runs is None:
            result = simcore.simulate(loaded, years, fixed, seed)
            show(report.variables_table(loaded, result.v, result.nvars, f"{loaded.name}: {length}, seed {seed}"))
            _write_outputs(json_path, result.to_dict, csv_path, result.frame)
            if plot_path is not None:
                _write_plot(plot_path, result.frame(), loaded)
            return
        runner = _runner(scenario, queued, workers)
        with progress_bar(f"{runs} runs", runs) as progress:
            mc = simcore.monte_carlo(loaded, runs, seed, years, fixed, workers, progress, varied, runner)
        title = f"{loaded.name}: {runs} runs of {length}, seed {seed}"
        show(report.summary_table(mc.summary(), title))
        _write_outputs(json_path, mc.to_dict, csv_path, lambda: mc.table)


def _with_games(loaded: Sequence[simcore.Scenario]) -> tuple[list[simcore.Scenario], list[NetlistInfo]]:
    """The scenarios but those named as a netlist, and the netlists, each described with its game if it has one."""
    netlists = _netlists()
    games = {scenario.name: scenario.description for scenario in loaded if scenario.name in netlists}
    described = [
        replace(info, description=f"{info.description} Its game: {games[name]}") if name in games else info
        for name, info in netlists.items()
    ]
    return [scenario for scenario in loaded if scenario.name not in games], described


def _netlists() -> dict[str, NetlistInfo]:
    from simcore.netlists import NETLISTS

    return NETLISTS


def _simulate_netlist(
    netlist: NetlistInfo, years: float | None, json_path: Path | None, csv_path: Path | None, plot_path: Path | None
) -> None:
    """`simulate` of a built-in netlist: its KPIs on a dozen days of the run, and the files asked for (every logged
    day, TokenSPICE's columns)."""
    check_outputs(json_path, csv_path, plot_path)
    started = time.perf_counter()
    frame = netlist.run(days=netlist.days) if years is None else netlist.run(years=years)
    seconds = time.perf_counter() - started
    length = f"{netlist.days:g} days" if years is None else _years(years)
    title = f"{netlist.name}: {length} in {seconds:.2f} s, {len(frame)} days logged"
    show(report.netlist_table(frame, netlist.kpis, title))
    write_json(json_path, lambda: {"netlist": netlist.name, "rows": report.jsonable(frame.to_dict("records"))})
    write_csv(csv_path, lambda: frame)
    if plot_path is not None:
        from evolver import charts

        charts.write_chart(plot_path, frame.assign(i=frame["Day"]), netlist.graphs, netlist.title)
        wrote(plot_path)


def _simulate_player(
    scenario: str,
    player: Path,
    years: float | None,
    seed: int,
    json_path: Path | None,
    csv_path: Path | None,
    plot_path: Path | None,
) -> None:
    """`simulate --player`: the run's variables, the player's outcome, and the files asked for (only the JSON
    when the player failed, which exits with 1)."""
    from simcore.engine import stats_frame

    check_outputs(json_path, csv_path, plot_path)
    evaluation, loaded, slot = _run_player(scenario, player, [seed], years, detail=True)
    detail = evaluation.detail
    if detail is not None:  # present exactly when the player's run was ok
        title = _run_title(loaded, player, years, [seed])
        show(report.variables_table(loaded, detail["v"], detail["nvars"], title))
    _show_outcome(evaluation, slot)
    write_json(json_path, functools.partial(report.evaluation_data, evaluation, loaded.name, slot, player))
    if detail is None:
        raise typer.Exit(PLAYER_FAILED)
    stats = detail["stats"]
    frame = functools.cache(lambda: stats_frame(stats))
    write_csv(csv_path, frame)
    if plot_path is not None:
        from evolver import charts

        _write_plot(plot_path, frame(), loaded, charts.slot_graphs(loaded))


@app.command("evaluate", rich_help_panel=SIMULATION)
def evaluate(
    scenario: ScenarioArg,
    player: PlayerArg,
    seeds: Annotated[
        list[int] | None,
        typer.Option(
            "--seed", help="A seed to run on (default: the game's training seeds). Repeatable; the score is the mean."
        ),
    ] = None,
    years: YearsOpt = None,
    json_path: JsonOpt = None,
) -> None:
    """Evaluate a player file in the scenario's slot, sandboxed: its status, score and metrics (and its share of
    the optimum profit, when the game knows its optimum).

    Exit code: 0 when the status is ok; 1 when the player was evaluated and failed (a compile or runtime
    error, a broken rule, a limit: the candidate's result, shown with its line); 2 for a usage error.
    """
    with user_errors():
        check_outputs(json_path)
        evaluation, loaded, slot = _run_player(scenario, player, seeds or _training_seeds(scenario), years)
        if evaluation.ok:
            title = _run_title(loaded, player, years, evaluation.seeds)
            show(report.metrics_table(evaluation.metrics, title, evaluation.per_seed, evaluation.seeds))
        _show_outcome(evaluation, slot)
        if evaluation.ok:
            _show_share(loaded, evaluation, years)
        write_json(json_path, functools.partial(report.evaluation_data, evaluation, loaded.name, slot, player))
    if not evaluation.ok:
        raise typer.Exit(PLAYER_FAILED)


@app.command("fuzz", rich_help_panel=SIMULATION)
def fuzz(
    scenario: ScenarioArg,
    cases: Annotated[
        list[str] | None,
        typer.Option(
            "--case",
            metavar="VAR[=SPEC]",
            help="Values to try: start:stop[:step] (stop excluded), or a,b,c; a bare VAR (a component's parameter) "
            "ranges over its bounds, for --sample random or lhs. Repeatable; a grid tries every mix.",
        ),
    ] = None,
    find: Annotated[
        list[str] | None,
        typer.Option("--find", metavar="VAR=max|min", help="A variable to maximise or minimise. Repeatable."),
    ] = None,
    sample: Annotated[str, typer.Option("--sample", help="How cases are chosen: grid, random or lhs.")] = "grid",
    samples: Annotated[int | None, typer.Option("--samples", help="Cases to draw with random or lhs.")] = None,
    seed: SeedOpt = 0,
    years: YearsOpt = None,
    overrides: SetOpt = None,
    workers: WorkersOpt = 1,
    json_path: JsonOpt = None,
    csv_path: CsvOpt = None,
    queued: QueueRunsOpt = False,
) -> None:
    """Search variable values for the best outcome of each --find target."""
    import simcore
    from simcore.fuzz import case_ranges

    with user_errors():
        case_specs, targets, fixed = parse_cases("--case", cases), parse_find(find), parse_overrides(overrides)
        if not targets and json_path is None and csv_path is None:
            raise InputError(
                "--find VAR=max|min says what to search for (e.g. --find aip=max); without it, give --csv or --json "
                "for the table of every case"
            )
        if sample == "grid" and samples is not None:
            raise InputError("--samples is for --sample random or lhs; a grid tries every case")
        if sample in ("random", "lhs") and samples is None:
            raise InputError(f"--sample {sample} needs --samples N, the number of cases to draw")
        check_outputs(json_path, csv_path)
        loaded = simcore.load_scenario(scenario)
        case_specs = case_ranges(loaded.variables, case_specs, sample)  # a bare VAR's bounds; values within them
        total = len(simcore.make_cases(case_specs, sample, samples, seed))
        runner = _runner(scenario, queued, workers)
        with progress_bar(f"{total} cases", total) as progress:
            result = simcore.fuzz(
                loaded, case_specs, targets, years, fixed, sample, samples, seed, workers, progress, runner
            )
        if targets:
            show(report.winners_table(result, targets, f"{loaded.name}: best of {total} cases ({sample}, seed {seed})"))
        _write_outputs(json_path, result.to_dict, csv_path, lambda: result.table, index=True)
