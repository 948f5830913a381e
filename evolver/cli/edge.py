"""What every `evolver` command shares: the Typer app, option types, the one error format, tables and
output files.

Every mistake a user can make (a bad option value, an unknown scenario or variable, an unreadable file, an
output that cannot be written) ends with one line `error: <message>` on stderr and exit code 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
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
from evolver.errors import EvolverError

if TYPE_CHECKING:
    import pandas as pd


PLAYER_FAILED = 1
USAGE_ERROR = 2
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
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one `error:` line on stderr and exit code 2."""
    try:
        yield
    except (simcore.SimulationError, EvolverError, report.ReportError, InputError, sandbox.SandboxError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def parse_pairs(option: str, items: list[str] | None, expected: str) -> dict[str, str]:
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


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (when it is a terminal), gone when done; yields simcore's
    `progress(done, total)` callback."""
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def show(table: Table) -> None:
    """Print a table to stdout; into a file or a pipe at its full width, as no terminal limits it there."""
    console = Console()
    if not console.is_terminal:
        unlimited = console.options.update_width(UNLIMITED_WIDTH)
        console.width = max(console.width, console.measure(table, options=unlimited).maximum)
    console.print(table)


def check_outputs(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            report.check_writable(path)


def wrote(path: Path) -> None:
    typer.echo(f"wrote {path}", err=True)


def write_json(path: Path | None, data: Callable[[], Any]) -> None:
    """Write the JSON if asked for (built only then), and say so on stderr."""
    if path is not None:
        report.write_json(path, data())
        wrote(path)


def write_csv(path: Path | None, table: Callable[[], pd.DataFrame], index: bool = False) -> None:
    """Write the CSV if asked for (the table built only then), and say so on stderr."""
    if path is not None:
        report.write_csv(path, table(), index)
        wrote(path)
