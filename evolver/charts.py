"""Charts of one simulation's daily stats, drawn from the scenario's AI3 `graphs` config: what they show (the
panels, their lines and each line's values), and a PNG of them.

The panels are resolved once, here, for every chart: the PNG (`write_chart`, for `simulate --plot` and the API's
`chart.png`) and the page's charts drawn in the browser from the API's `run.json`.

matplotlib is imported only when a chart is drawn, so the CLI starts fast; figures are drawn on an Agg
canvas of their own, never through pyplot's global state.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from evolver.report import ReportError, check_writable

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from simcore import Scenario, Slot

PANEL_SIZE = (9.0, 3.0)  # inches per subplot: width, height
DPI = 100
# matplotlib's default colour cycle ("tab10"), given explicitly so that a browser draws a line without a colour of
# its own in the colour the PNG gives it: the n-th such line of a panel takes the n-th colour, as in matplotlib
CYCLE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


@dataclass(frozen=True)
class Line:
    """One line of a panel: its legend label, its colour (as the config gives it, or the cycle's) and the stats
    column it draws."""

    label: str
    color: str
    key: str


@dataclass(frozen=True)
class Panel:
    """One subplot: its title and its lines, against the day `i`."""

    title: str
    lines: tuple[Line, ...]


def column_graphs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One graph per numeric stats column (the day number aside), for scenarios that declare no graphs."""
    numeric = frame.select_dtypes("number").columns
    return [{"key": c, "name": c, "lines": [{"label": c, "key": c}]} for c in numeric if c != "i"]


def wallet_graph(slot: Slot) -> dict[str, Any]:
    """A panel "Player wallet": a line per ticker of the slot's wallet (the `KEY.TICKER` stats columns)."""
    lines = [{"label": ticker, "key": f"{slot.key}.{ticker}"} for ticker in slot.wallet]
    return {"key": slot.key, "name": "Player wallet", "lines": lines}


def slot_graphs(scenario: Scenario) -> list[dict[str, Any]]:
    """The panels drawn below the scenario's for a run with an evolved player: its markets (the columns each
    market's protocol names, `Market.lines`), then its wallet."""
    assert scenario.slot is not None, "only a scenario with a slot has a player to draw"
    markets = markets_graph(scenario)
    return [*([markets] if markets else []), wallet_graph(scenario.slot)]


def markets_graph(scenario: Scenario) -> dict[str, Any] | None:
    """A panel "Markets": the lines each market the slot trades on names for its tickers, two or more (a pool's
    reserves, a weighted pool's balances and share supply, a curve's supply and reserve, a book's price), or None
    when they name none."""
    from simcore.markets import market_type

    plugins, lines = scenario.plugins, []
    for key in scenario.slot.actions if scenario.slot else ():
        market = market_type(key, plugins[key])
        lines += market.lines(key, market.tickers_of(plugins[key], plugins))
    return {"key": "markets", "name": "Markets", "lines": lines} if lines else None


def chart_panels(
    frame: pd.DataFrame, graphs: Sequence[Mapping[str, Any]], extra: Sequence[Mapping[str, Any]] = ()
) -> list[Panel]:
    """The panels a chart of `frame` shows: one per graph (every numeric column's own when there are no
    `graphs`), then the `extra` ones (e.g. `slot_graphs`), a line per entry of a graph's `lines`.

    A line names its column by `key` (AI3's dashboard) or `val` (AI3's README); a name that is not a column of
    `frame` is a ReportError naming the graph and the closest columns, as is a chart with no panel."""
    panels = [_panel(frame, graph) for graph in [*(list(graphs) or column_graphs(frame)), *extra]]
    if not panels:
        raise ReportError("nothing to plot: the scenario has no graphs and its daily stats no numeric columns")
    return panels


def _panel(frame: pd.DataFrame, graph: Mapping[str, Any]) -> Panel:
    title = str(graph.get("name", graph.get("key", "")))
    lines, uncoloured = [], 0
    for line in graph.get("lines", ()):
        key = line.get("key", line.get("val"))
        if key not in frame.columns:
            close = difflib.get_close_matches(str(key), [str(c) for c in frame.columns], n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ReportError(f"graph {title!r}: line key {key!r} is not a column of the daily stats{hint}")
        color = line.get("color")
        if color is None:
            color, uncoloured = CYCLE[uncoloured % len(CYCLE)], uncoloured + 1
        lines.append(Line(str(line.get("label", key)), str(color), key))
    return Panel(title, tuple(lines))


def browser_color(color: str) -> str:
    """A line's colour as the page's canvas reads it: one matplotlib knows (its cycle's `C1`, `tab:green`, `xkcd:`
    names, a grey level such as `0.5`, a CSS name) as `#rrggbb` (or `#rrggbbaa`), the PNG's colour; any other string
    as it is (a CSS form such as `rgb(...)`, which the PNG refuses)."""
    from matplotlib.colors import to_hex

    try:
        return to_hex(color, keep_alpha=len(color) == 9 and color.startswith("#"))
    except ValueError:
        return color


def values(frame: pd.DataFrame, key: str) -> pd.Series:
    """A stats column as a chart draws it: its numbers as floats, anything else (text, None) NaN."""
    import pandas as pd

    return pd.to_numeric(frame[key], errors="coerce").astype(float)


def figure(frame: pd.DataFrame, panels: Sequence[Panel], title: str = "") -> Figure:
    """The panels drawn by matplotlib, one subplot each against the day `i`, on an Agg canvas of their own. A
    colour matplotlib does not know is a ReportError naming the graph and the line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = PANEL_SIZE
    drawn = Figure(figsize=(width, height * len(panels)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(drawn)
    axes_list = drawn.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for axes, panel in zip(axes_list, panels, strict=True):
        for line in panel.lines:
            try:
                axes.plot(frame["i"], values(frame, line.key), label=line.label, color=line.color)
            except ValueError as exc:
                raise ReportError(f"graph {panel.title!r}: line {line.key!r}: {exc}") from exc
        axes.set_title(panel.title)
        if axes.lines:
            axes.legend(loc="best")
        axes.grid(alpha=0.3)
    axes_list[-1].set_xlabel("day")
    if title:
        drawn.suptitle(title)
    return drawn


def write_chart(
    path: Path | BinaryIO,
    frame: pd.DataFrame,
    graphs: Sequence[Mapping[str, Any]],
    title: str = "",
    extra: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Draw `chart_panels(frame, graphs, extra)` (one subplot per graph, one line per entry of its `lines`, label
    and colour from the config) against the day `i`, and save it as a PNG. `frame` is `Result.frame()` (or
    `simcore.engine.stats_frame` of the same rows). `path` may also be a binary file object."""
    if isinstance(path, Path):
        check_writable(path)
    drawn = figure(frame, chart_panels(frame, graphs, extra), title)
    try:
        drawn.savefig(path, format="png")
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
