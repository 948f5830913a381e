"""Results as people and files see them: rich tables with readable numbers, strict JSON and CSV files.

simcore and the sandbox return plain data and DataFrames and write nothing; everything that turns a result
into text or a file for the CLI lives here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Container, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from evolver.games import GameInfo, JobReference, SeedReference, SetReference
    from sandbox.evaluation import Evaluation
    from simcore import FuzzResult, Scenario, Slot
    from simcore.netlists import NetlistInfo

SIGNIFICANT = 6
MISSING = "—"
PRINTED_LINES = 20  # of what a player printed, shown on the terminal (the JSON file keeps it all)
PRINTED_CHARS = 2000
LOWER_BOUND = "*"  # after a share of the best known profit (a lower bound of the optimum's), not of the optimum's
SHARES = "(%): share of the optimum profit, (score - idle) / (optimum - idle), idle: the score of doing nothing"
SHARES_OF_BOUNDS = (
    "%*: of the best known profit, a lower bound of the optimum's (so a share of the optimum is nearer 0)"
)


class ReportError(Exception):
    """An output file cannot be written (missing directory, a directory in its place, no permission)."""


def format_number(value: Any) -> str:
    """A value for a table cell: ints as they are, floats to about six significant digits, None as a dash.

    No thousands separators, so a value reads the same as on the command line (`--case x=1,2` is a list).
    """
    if value is None:
        return MISSING
    if not isinstance(value, float) or not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-3 or magnitude >= 1e15):
        return f"{value:.{SIGNIFICANT - 1}g}"
    integer_digits = len(str(int(magnitude))) if magnitude >= 1 else 0
    text = f"{value:.{max(0, SIGNIFICANT - integer_digits)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Container[int]) -> Table:
    """A table of formatted cells (see `format_number`); the columns numbered in `right` are right-aligned."""
    table = Table(title=title, min_width=len(title) + 4)  # wide enough for the title on one line
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if index in right else "left")
    for row in rows:
        table.add_row(*map(format_number, row))
    return table


def scenarios_table(scenarios: Iterable[Scenario], netlists: Iterable[NetlistInfo] = ()) -> Table:
    """The built-in scenarios by name, with the first line of each one's description and a line per component it
    composes (`key: kind@version#hash`), then the netlists."""
    rows = [
        (s.name, "\n".join([s.description, *(f"{k}: {ref}" for k, ref in s.components.items())])) for s in scenarios
    ]
    rows += [(n.name, f"(netlist) {n.description}") for n in netlists]
    return _table("Built-in scenarios", ("scenario", "description"), rows, right=())


def scenarios_data(scenarios: Iterable[Scenario], netlists: Iterable[NetlistInfo] = ()) -> dict[str, Any]:
    """The scenarios (name, description, components' refs by key) and the netlists (name, description) as data."""
    return {
        "scenarios": [
            {"name": s.name, "description": s.description, "components": dict(s.components)} for s in scenarios
        ],
        "netlists": [{"name": n.name, "description": n.description} for n in netlists],
    }


def netlist_table(frame: pd.DataFrame, kpis: Sequence[str], title: str, rows: int = 12) -> Table:
    """A netlist run's KPIs on at most `rows` of its logged days, evenly spread from the first to the last."""
    last = len(frame) - 1
    picked = sorted({round(k * last / (rows - 1)) for k in range(rows)}) if last > 0 else [0]
    cells = [(frame["Day"].iat[k], *(frame[kpi].iat[k] for kpi in kpis)) for k in picked]
    return _table(title, ("day", *kpis), cells, right=range(len(kpis) + 1))


def components_table(rows: Iterable[Sequence[Any]]) -> Table:
    """The component library: kind, version, hash, parameters, KPIs and what it is."""
    columns = ("component", "version", "hash", "parameters (default, bounds)", "kpis", "what it is")
    return _table("Components", columns, rows, right=(1,))


def percent(share: float | None) -> str:
    """A share as a percentage to one decimal (`63.2 %`), or a dash."""
    return MISSING if share is None else f"{share * 100:.1f} %"


def share_mark(score: float | None, ref: SetReference | None) -> str | None:
    """A score's share as a table or a tree shows it beside the score: `63.2 %`, or `12.1 %*` when it is of the
    best known (a lower bound of the optimum); None without a score, or without an optimum to measure it by."""
    share = None if ref is None else ref.share(score)
    return None if share is None or ref is None else percent(share) + ("" if ref.exact else LOWER_BOUND)


def with_share(score: float | None, ref: SetReference | None) -> str:
    """A score and its share (`share_mark`) for a table cell: `51.5121 (63.2 %)`, or the score alone."""
    mark = share_mark(score, ref)
    return format_number(score) if mark is None else f"{format_number(score)} ({mark})"


def share_text(score: float | None, ref: SetReference | None) -> str | None:
    """A score's share in words, with what it is of: `63.2 % of the optimum profit (idle 50, optimum 64.7209)`,
    or `… of the best known profit (idle 50, best known 502.439: a lower bound of the optimum)`; None without one."""
    share = None if ref is None else ref.share(score)
    if share is None or ref is None:
        return None
    best, bound = ("optimum", "") if ref.exact else ("best known", ": a lower bound of the optimum")
    numbers = f"idle {format_number(ref.idle)}, {best} {format_number(ref.optimum)}{bound}"
    return f"{percent(share)} of the {best} profit ({numbers})"


def share_legend(references: Iterable[JobReference]) -> str | None:
    """What the shares beside the scores of these jobs are (a table's caption, a tree's root); None if none has any."""
    shown = [ref for ref in references if ref.train is not None]
    if not shown:
        return None
    return SHARES if all(ref.exact for ref in shown) else f"{SHARES}; {SHARES_OF_BOUNDS}"


def games_table(games: Iterable[GameInfo]) -> Table:
    """The built-in games: what each tests, its seats, default training and held-out seeds, and its reference."""
    rows = []
    for game in games:
        parts = ([f"optimum ({game.optimum})"] if game.optimum else []) + ["reference player"] * game.reference_player
        reference = ", ".join(parts)
        seeds = (_seeds(game.train), _seeds(game.heldout))
        rows.append((game.name, " ".join(game.kinds), game.seats, *seeds, reference or MISSING, game.tests))
    columns = ("game", "kind", "seats", "training seeds", "held-out seeds", "reference", "tests")
    return _table("Built-in games", columns, rows, right=(2,))


def _seeds(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds)) if seeds else MISSING


def references_table(name: str, refs: Sequence[SeedReference]) -> Table:
    """A game's reference per seed: its set, the idle score, the optimum and its kind, the reference player and
    its share of the optimum profit; a last row for each seed set over its seeds."""
    from evolver.games import share

    rows: list[tuple[Any, ...]] = []
    for ref in refs:
        kind = None if ref.optimum is None else "exact" if ref.optimum.exact else "lower bound"
        value = None if ref.optimum is None else ref.optimum.value
        rows.append((ref.seed, "held-out" if ref.heldout else "training", ref.idle, value, kind, ref.reference,
                     percent(ref.share)))  # fmt: skip
    for label, heldout in (("training", False), ("held-out", True)):
        chosen = [ref for ref in refs if ref.heldout is heldout]
        if len(chosen) > 1 and all(ref.reference is not None for ref in chosen):
            scores = [ref.reference for ref in chosen if ref.reference is not None]
            rows.append(("all", label, None, None, None, sum(scores) / len(scores), percent(share(scores, chosen))))
    columns = ("seed", "set", "idle", "optimum", "kind", "reference player", "share")
    return _table(f"Reference of {name}", columns, rows, right=(2, 3, 5, 6))


def references_data(refs: Sequence[SeedReference]) -> list[dict[str, Any]]:
    """The references per seed as plain data (the optimum's plan left out)."""
    rows = []
    for ref in refs:
        found = ref.optimum
        rows.append({
            "seed": ref.seed, "heldout": ref.heldout, "idle": ref.idle,
            "optimum": None if found is None else found.value, "exact": None if found is None else found.exact,
            "method": None if found is None else found.method, "reference": ref.reference, "share": ref.share,
        })  # fmt: skip
    return rows


def variables_table(scenario: Scenario, before: Mapping[str, Any], after: Mapping[str, Any], title: str) -> Table:
    """Every variable: key, display name, value before the run (a run's `v`) and after it (its `nvars`)."""
    rows = [(key, var.name, before[key], after[key]) for key, var in scenario.variables.items()]
    return _table(title, ("variable", "name", "before", "after"), rows, right=(2, 3))


def summary_table(summary: pd.DataFrame, title: str) -> Table:
    """A Monte Carlo summary: one row per variable, one column per statistic."""
    rows = [(name, *row) for name, row in zip(summary.index, summary.itertuples(index=False), strict=True)]
    columns = ("variable", *map(str, summary.columns))
    return _table(title, columns, rows, right=range(1, len(columns)))


def frame_table(frame: pd.DataFrame, title: str, index: str = "") -> Table:
    """Any table of results (a study's): its index as the first column, then its columns, numbers right-aligned."""
    rows = [(name, *row) for name, row in zip(frame.index, frame.itertuples(index=False), strict=True)]
    columns = (index, *map(str, frame.columns))
    numeric = [k + 1 for k, dtype in enumerate(frame.dtypes) if dtype.kind in "iuf"]
    return _table(title, columns, rows, right=numeric)


def winners_table(result: FuzzResult, find: Mapping[str, str], title: str) -> Table:
    """One row per `find` target: how it was judged (max or min), the value found, and the winning case."""
    rows = []
    for key, how in find.items():
        winner = result.winners[key]
        case = ", ".join(f"{name}={format_number(x)}" for name, x in winner.case.items())
        rows.append((key, how, winner.value, case))
    return _table(title, ("target", "find", "value", "case"), rows, right=(2,))


def metrics_table(
    metrics: Mapping[str, float], title: str, per_seed: Sequence[Mapping[str, float]] = (), seeds: Sequence[int] = ()
) -> Table:
    """Metrics by name: the value (the mean over seeds), and a column per seed when there are several."""
    several = len(seeds) > 1
    runs = per_seed if several else []
    names = [f"seed {seed}" for seed in seeds] if several else []
    columns = ("metric", "mean" if several else "value", *names)
    rows = [(name, mean, *(run[name] for run in runs)) for name, mean in metrics.items()]
    return _table(title, columns, rows, right=range(1, len(columns)))


def printable(text: str) -> str:
    """`text` safe for a terminal: control characters (escape sequences included) shown as Python escapes,
    newlines and tabs kept. For anything a player wrote: its output and its error messages."""
    return "".join(c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode() for c in text)


def outcome_line(evaluation: Evaluation, slot: Slot) -> str:
    """`ok: score 49 (comp: usdc, max)`, or the status and the error, led by the player's line when known."""
    if evaluation.ok:
        return f"ok: score {format_number(evaluation.score)} (comp: {slot.comp}, {slot.direction})"
    error = evaluation.error or "no message"
    where = f"line {evaluation.line}"
    if evaluation.line is not None and not error.startswith(f"{where}:"):  # a compile error names it already
        error = f"{where}: {error}"
    return f"{evaluation.status}: {printable(error)}"


def printed_excerpt(text: str) -> str:
    """What a player printed, made `printable` and cut to PRINTED_LINES lines and PRINTED_CHARS characters;
    a last line says so when something was left out."""
    lines = printable(text).splitlines()
    shown = "\n".join(lines[:PRINTED_LINES])
    if len(lines) <= PRINTED_LINES and len(shown) <= PRINTED_CHARS:
        return shown
    return f"{shown[:PRINTED_CHARS]}\n… cut short: {len(lines)} lines in all; --json writes the whole text"


def evaluation_data(evaluation: Evaluation, scenario: str, slot: Slot, player: Path) -> dict[str, Any]:
    """An evaluation as a JSON file holds it: with the scenario's name, the player file and the slot's comp."""
    return {
        "scenario": scenario,
        "player": str(player),
        "comp": slot.comp,
        "direction": slot.direction,
        **evaluation.to_dict(),
    }


def jsonable(value: Any) -> Any:
    """`value` as strict-JSON data: NaN and infinities become None, numpy scalars and arrays plain numbers
    and lists, tuples and sets lists, mapping keys strings; anything else its `str`."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(x) for k, x in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy here
        return jsonable(value.tolist())
    return str(value)


def check_writable(path: Path) -> None:
    """Fail early, before a long run, if `path` cannot be created: its directory must exist. `-` is refused
    rather than written as a file of that name: stdout carries the table."""
    if str(path) == "-":
        raise ReportError("cannot write to `-`: stdout carries the table; give a file name, e.g. result.json")
    if path.is_dir():
        raise ReportError(f"cannot write {path}: it is a directory; give a file name")
    if not path.parent.is_dir():
        raise ReportError(f"cannot write {path}: the directory {path.parent} does not exist")


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path`, with a ReportError naming the file on failure."""
    check_writable(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented, strict JSON (see `jsonable`)."""
    write_text(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def write_csv(path: Path, frame: pd.DataFrame, index: bool = False) -> None:
    """Write a DataFrame as CSV; `index` keeps its index as the first column."""
    write_text(path, frame.to_csv(index=index))
