"""The `evolver` command line: parse the options, call simcore or the sandbox, print tables and write files
via `report`.

Every mistake a user can make (a bad option value, an unknown scenario or variable, a scenario that fails,
an unreadable player file, an output file that cannot be written) ends with one line `error: <message>` on
stderr and exit code 2. A player file that was run in the sandbox and failed (`evaluate`, `simulate
--player`) is the candidate's result, not a mistake: its status and error go to stdout and the exit code is 1.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

import sandbox  # cheap: its names load on first use, so commands that run no player never load the sandbox
import simcore
from evolver import report
from simcore.engine import stats_frame
from simcore.fuzz import CaseSpec

if TYPE_CHECKING:
    import pandas as pd

    from sandbox.evaluation import Evaluation

PLAYER_FAILED = 1
USAGE_ERROR = 2
DETAIL_REPORT_BYTES = 32 * 1024 * 1024  # a run's daily stats come back through the sandbox's report
UNLIMITED_WIDTH = 100_000  # characters: what a table may measure when no terminal limits it

app = typer.Typer(
    help="Simulate token economies with simcore (single runs, Monte Carlo, fuzz) and evaluate player files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


class InputError(ValueError):
    """A command-line value that cannot be parsed; the message names the option and what was expected."""


ScenarioArg = Annotated[
    str, typer.Argument(help="A built-in scenario name (see `evolver scenarios`) or a path to a .py file.")
]
YearsOpt = Annotated[float | None, typer.Option("--years", help="Years to simulate (default: the scenario's).")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="VAR=NUMBER", help="Fix a variable to a number, e.g. iusdcl=25. Repeatable."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the run (or of all runs and the sampling).")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="Processes running simulations (for --runs and fuzz).")]
PlayerArg = Annotated[Path, typer.Argument(help="A Python file defining the player fn(i, v, r, s, p).")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the result as JSON to this file.")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write the result's table as CSV to this file.")]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one `error:` line on stderr and exit code 2."""
    try:
        yield
    except (simcore.SimulationError, report.ReportError, InputError, sandbox.SandboxError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def _pairs(option: str, items: list[str] | None, expected: str) -> dict[str, str]:
    """`VAR=VALUE` items as a dict; a missing `=`, an empty side or a repeated VAR is an InputError."""
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = (part.strip() for part in item.partition("="))
        if not (sep and key and value):
            raise InputError(f"{option} {item!r}: expected {expected}")
        if key in pairs:
            raise InputError(f"{option} {key!r} is given twice")
        pairs[key] = value
    return pairs


def parse_number(text: str, where: str) -> int | float:
    """An int if `text` reads as one, else a finite float; `where` names the option in the error."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: {text!r} is not a finite number")
    return value


def parse_overrides(items: list[str] | None) -> dict[str, int | float]:
    """`--set VAR=NUMBER` items as variable overrides."""
    pairs = _pairs("--set", items, "VAR=NUMBER, e.g. iusdcl=25")
    return {key: parse_number(value, f"--set {key}={value}") for key, value in pairs.items()}


def parse_case(key: str, text: str) -> CaseSpec:
    """One `--case` value: `start:stop[:step]` (stop excluded; all ints give a `range`, else a `Span`)
    or a list `a,b,c`. A float range without a step is kept: random and lhs sampling draw from it, the grid
    asks for a step."""
    where = f"--case {key}={text}"
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


def parse_cases(items: list[str] | None) -> dict[str, CaseSpec]:
    """`--case VAR=SPEC` items as fuzz cases."""
    pairs = _pairs("--case", items, "VAR=start:stop[:step] or VAR=a,b,c, e.g. iusdcl=10:101")
    return {key: parse_case(key, text) for key, text in pairs.items()}


def parse_find(items: list[str] | None) -> dict[str, str]:
    """`--find VAR=max|min` items as fuzz targets."""
    targets = _pairs("--find", items, "VAR=max or VAR=min, e.g. aip=max")
    for key, how in targets.items():
        if how not in ("max", "min"):
            raise InputError(f"--find {key}={how}: expected max or min")
    return targets


@contextmanager
def _progress_bar(description: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (when it is a terminal), gone when done; yields simcore's
    `progress(done, total)` callback."""
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _show(table: Table) -> None:
    """Print a table to stdout; into a file or a pipe at its full width, as no terminal limits it there."""
    console = Console()
    if not console.is_terminal:
        unlimited = console.options.update_width(UNLIMITED_WIDTH)
        console.width = max(console.width, console.measure(table, options=unlimited).maximum)
    console.print(table)


def _check_outputs(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            report.check_writable(path)


def _years(years: float) -> str:
    return f"{years:g} year{'' if years == 1 else 's'}"


def _wrote(path: Path) -> None:
    typer.echo(f"wrote {path}", err=True)


def _write_outputs(
    json_path: Path | None,
    json_data: Callable[[], Any],
    csv_path: Path | None,
    table: Callable[[], pd.DataFrame],
    index: bool = False,
) -> None:
    """Write the JSON and the CSV if asked for (each built only then), and say so on stderr."""
    _write_json(json_path, json_data)
    _write_csv(csv_path, table, index)


def _write_json(path: Path | None, data: Callable[[], Any]) -> None:
    """Write the JSON if asked for (built only then), and say so on stderr."""
    if path is not None:
        report.write_json(path, data())
        _wrote(path)


def _write_csv(path: Path | None, table: Callable[[], pd.DataFrame], index: bool = False) -> None:
    """Write the CSV if asked for (the table built only then), and say so on stderr."""
    if path is not None:
        report.write_csv(path, table(), index)
        _wrote(path)


def _write_plot(
    path: Path, frame: pd.DataFrame, scenario: simcore.Scenario, extra: Sequence[Mapping[str, Any]] = ()
) -> None:
    from evolver import charts

    charts.write_chart(path, frame, scenario.graphs, scenario.title or scenario.name, extra)
    _wrote(path)


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
    code = _read_player(player)
    if years is not None:
        simcore.day_count(years)  # a bad --years is the user's mistake; the sandbox would blame the player
    limits = sandbox.Limits(max_report_bytes=DETAIL_REPORT_BYTES) if detail else None
    evaluation = sandbox.evaluate(code, scenario, seeds, years, limits, detail)
    loaded = simcore.load_scenario(scenario)
    assert loaded.slot is not None, "the sandbox evaluates only scenarios with a slot"
    return evaluation, loaded, loaded.slot


def _show_outcome(evaluation: Evaluation, slot: simcore.Slot) -> None:
    """What the player printed (cut short), then its status with the score or the error."""
    if evaluation.stdout:
        typer.echo(f"the player printed:\n{report.printed_excerpt(evaluation.stdout)}")
    typer.echo(report.outcome_line(evaluation, slot))


def _run_title(scenario: simcore.Scenario, player: Path, years: float | None, seeds: Sequence[int]) -> str:
    seed_text = f"seed{'' if len(seeds) == 1 else 's'} {', '.join(map(str, seeds))}"
    return f"{scenario.name}: {player.name}, {_years(scenario.years if years is None else years)}, {seed_text}"


@app.command("scenarios")
def scenarios() -> None:
    """List the built-in scenarios."""
    with _user_errors():
        loaded = [simcore.load_scenario(name) for name in simcore.builtin_names()]
    _show(report.scenarios_table(loaded))


@app.command("simulate")
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
) -> None:
    """Simulate a scenario once (a table of every variable before and after the run), or --runs times.

    With --player, the file's player takes the scenario's slot in a sandboxed run; the exit code is 1 when the
    player fails (its status and error are shown), 2 for a usage error.
    """
    with _user_errors():
        fixed = parse_overrides(overrides)
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
        _check_outputs(json_path, csv_path, plot_path)
        loaded = simcore.load_scenario(scenario)
        length = _years(loaded.years if years is None else years)
        if runs is None:
            result = simcore.simulate(loaded, years, fixed, seed)
            _show(report.variables_table(loaded, result.v, result.nvars, f"{loaded.name}: {length}, seed {seed}"))
            _write_outputs(json_path, result.to_dict, csv_path, result.frame)
            if plot_path is not None:
                _write_plot(plot_path, result.frame(), loaded)
            return
        with _progress_bar(f"{runs} runs", runs) as progress:
            mc = simcore.monte_carlo(loaded, runs, seed, years, fixed, workers, progress)
        title = f"{loaded.name}: {runs} runs of {length}, seed {seed}"
        _show(report.summary_table(mc.summary(), title))
        _write_outputs(json_path, mc.to_dict, csv_path, lambda: mc.table)


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
    _check_outputs(json_path, csv_path, plot_path)
    evaluation, loaded, slot = _run_player(scenario, player, [seed], years, detail=True)
    detail = evaluation.detail
    if detail is not None:  # present exactly when the player's run was ok
        title = _run_title(loaded, player, years, [seed])
        _show(report.variables_table(loaded, detail["v"], detail["nvars"], title))
    _show_outcome(evaluation, slot)
    _write_json(json_path, functools.partial(report.evaluation_data, evaluation, loaded.name, slot, player))
    if detail is None:
        raise typer.Exit(PLAYER_FAILED)
    stats = detail["stats"]
    frame = functools.cache(lambda: stats_frame(stats))
    _write_csv(csv_path, frame)
    if plot_path is not None:
        from evolver import charts

        _write_plot(plot_path, frame(), loaded, [charts.wallet_graph(slot)])


@app.command("evaluate")
def evaluate(
    scenario: ScenarioArg,
    player: PlayerArg,
    seeds: Annotated[
        list[int] | None,
        typer.Option("--seed", help="A seed to run on (default: 0). Repeatable; the score is the mean over seeds."),
    ] = None,
    years: YearsOpt = None,
    json_path: JsonOpt = None,
) -> None:
    """Evaluate a player file in the scenario's slot, sandboxed: its status, score and metrics.

    Exit code: 0 when the status is ok; 1 when the player was evaluated and failed (a compile or runtime
    error, a broken rule, a limit: the candidate's result, shown with its line); 2 for a usage error.
    """
    with _user_errors():
        _check_outputs(json_path)
        evaluation, loaded, slot = _run_player(scenario, player, seeds or [0], years)
        if evaluation.ok:
            _show(report.metrics_table(evaluation, _run_title(loaded, player, years, evaluation.seeds)))
        _show_outcome(evaluation, slot)
        _write_json(json_path, functools.partial(report.evaluation_data, evaluation, loaded.name, slot, player))
    if not evaluation.ok:
        raise typer.Exit(PLAYER_FAILED)


@app.command("fuzz")
def fuzz(
    scenario: ScenarioArg,
    cases: Annotated[
        list[str] | None,
        typer.Option(
            "--case",
            metavar="VAR=SPEC",
            help="Values to try: start:stop[:step] (stop excluded), or a,b,c. Repeatable; a grid tries every mix.",
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
) -> None:
    """Search variable values for the best outcome of each --find target."""
    with _user_errors():
        case_specs, targets, fixed = parse_cases(cases), parse_find(find), parse_overrides(overrides)
        if sample == "grid" and samples is not None:
            raise InputError("--samples is for --sample random or lhs; a grid tries every case")
        if sample in ("random", "lhs") and samples is None:
            raise InputError(f"--sample {sample} needs --samples N, the number of cases to draw")
        _check_outputs(json_path, csv_path)
        loaded = simcore.load_scenario(scenario)
        total = len(simcore.make_cases(case_specs, sample, samples, seed))
        with _progress_bar(f"{total} cases", total) as progress:
            result = simcore.fuzz(loaded, case_specs, targets, years, fixed, sample, samples, seed, workers, progress)
        title = f"{loaded.name}: best of {total} cases ({sample}, seed {seed})"
        _show(report.winners_table(result, targets, title))
        _write_outputs(json_path, result.to_dict, csv_path, lambda: result.table, index=True)
