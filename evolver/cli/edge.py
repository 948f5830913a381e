"""What every `evolver` command shares: the Typer app, option types, the one error format, tables and
output files.

Every mistake a user can make (a bad option value, an unknown scenario or variable, an unreadable file, an
output that cannot be written) ends with one line `error: <message>` on stderr and exit code 2.

The command modules import only what registering their commands needs (typer and rich); a command
imports the database, queue, sandbox pool or web stacks when it runs, so `evolver --help` starts fast.
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from evolver import report
from evolver.errors import EvolverError

if TYPE_CHECKING:
    import pandas as pd


PLAYER_FAILED = 1
USAGE_ERROR = 2
UNLIMITED_WIDTH = 100_000  # characters: what a table may measure when no terminal limits it

SIMULATION, EVOLUTION, SERVICE = "Simulation", "Evolution", "Service"  # the help's command groups


class _ReadableHelp:
    """Click's way of naming what an option takes (`--seed INT`, `SCENARIO`; nothing for a flag), where typer
    shows `<int>`, `<bool>` and `{scenario}`."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None:
                param.metavar = _metavar(param)
            if isinstance(param, TyperArgument):
                param.__class__ = _Argument

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class _Argument(TyperArgument):
    """An argument as click shows it: `SCENARIO` in the usage line when required (`[NAME]` when not), and no
    type column beside its help."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class StrictCommand(_ReadableHelp, TyperCommand):
    """A command with readable help whose options that take one value refuse a second (click would silently keep
    the last)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        single = {name: param for param in self.params if _takes_one_value(param) for name in param.opts}
        given: dict[str, list[str]] = {}
        for arg in args:
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if name in single:
                given.setdefault(single[name].name, []).append(name)
        for names in given.values():
            if len(names) > 1:
                raise typer.BadParameter(f"it takes one value; it was given {len(names)} times", ctx, single[names[0]])
        return super().parse_args(ctx, args)


class StrictGroup(_ReadableHelp, TyperGroup):
    """A group of commands with readable help."""


def _takes_one_value(param: Any) -> bool:
    return isinstance(param, TyperOption) and not (param.multiple or param.is_flag or param.count)


def _metavar(param: Any) -> str:
    """`INT`, `FLOAT`, `TEXT`, `PATH`, an argument's name in capitals; nothing for a flag."""
    if isinstance(param, TyperArgument):
        return param.name.upper()
    if param.is_flag or param.count:
        return ""
    bare = param.bare_type().removeprefix("list[").removesuffix("]")
    return {"str": "TEXT", "int": "INT", "float": "FLOAT", "Path": "PATH"}.get(bare, bare.upper())


class App(typer.Typer):
    """A command line whose commands are StrictCommands in a StrictGroup."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=StrictGroup, **kwargs)

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or StrictCommand, **kwargs)


def me() -> str:
    """How to run this command line again, as printed in a next step: `evolver` when that is on the PATH, else the
    path it was run by (e.g. `.venv/bin/evolver` after `make run`)."""
    invoked = Path(sys.argv[0])
    found = shutil.which("evolver")
    if invoked.name != "evolver" or (found and Path(found).resolve() == invoked.resolve()):
        return "evolver"
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


def version() -> str:
    """The installed package's version (the API reports the same)."""
    return metadata.version("evolver")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"evolver {version()}")
        raise typer.Exit()


app = App(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def main(
    _version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Simulate token economies (AI3-compatible: single runs, Monte Carlo, fuzz), have language models evolve
    players for a scenario's slot, score them in a sandbox, and keep their lineage. Start with
    `evolver evolve ai3_plugins` (offline, no key), then `evolver lineage 1`."""


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
JobArg = Annotated[int, typer.Argument(help="A job or tournament id (see `evolver jobs`).")]
QueueOpt = Annotated[
    bool,
    typer.Option(
        "--queue/--no-queue",
        help="Run it on the Celery workers (EVOLVER_BROKER_URL): a job or tournament is queued and its id printed; a "
        "fuzz, Monte Carlo or study waits for its results.",
    ),
]
ReplayOpt = Annotated[
    int | None,
    typer.Option("--replay", help="Reuse this job's replies to the same prompts (not paid, not counted as calls)."),
]
EvalSeedsOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--seed",
        help="A training seed: every candidate is scored and every choice made on these (default: the scenario's "
        "game's, 0 for most). Repeatable.",
    ),
]
HeldoutSeedsOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--heldout-seed",
        help="A held-out seed: every candidate that runs ok is also scored on these, never chosen by them nor shown "
        "them (default: the scenario's game's, none for most). Repeatable.",
    ),
]
NoHeldoutOpt = Annotated[bool, typer.Option("--no-heldout", help="No held-out seeds, not even the game's.")]
SearchSeedOpt = Annotated[
    int, typer.Option("--search-seed", help="The seed of the models' proposals (the offline search's, the LLMs').")
]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the result as JSON to this file.")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Write the result's table as CSV to this file.")]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one `error:` line on stderr and exit code 2."""
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors a user can cause; simcore and the sandbox are imported here, when a command has failed."""
    import sandbox
    import simcore

    return simcore.SimulationError, EvolverError, report.ReportError, InputError, sandbox.SandboxError


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
