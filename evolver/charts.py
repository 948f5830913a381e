"""A PNG chart of one simulation's daily stats, drawn from the scenario's AI3 `graphs` config.

matplotlib is imported only when a chart is drawn, so the CLI starts fast; figures are drawn on an Agg
canvas of their own, never through pyplot's global state.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from evolver.report import ReportError, check_writable

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from simcore import Scenario, Slot

PANEL_SIZE = (9.0, 3.0)  # inches per subplot: width, height
DPI = 100


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


def _plot_line(axes: Axes, frame: pd.DataFrame, graph: str, line: Mapping[str, Any]) -> None:
    import pandas as pd

    key = line.get("key", line.get("val"))  # AI3's dashboard names the column `key`, its README `val`
    if key not in frame.columns:
        close = difflib.get_close_matches(str(key), [str(c) for c in frame.columns], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ReportError(f"graph {graph!r}: line key {key!r} is not a column of the daily stats{hint}")
    values = pd.to_numeric(frame[key], errors="coerce")
    try:
        axes.plot(frame["i"], values, label=str(line.get("label", key)), color=line.get("color"))
    except ValueError as exc:
        raise ReportError(f"graph {graph!r}: line {key!r}: {exc}") from exc


def write_chart(
    path: Path | BinaryIO,
    frame: pd.DataFrame,
    graphs: Sequence[Mapping[str, Any]],
    title: str = "",
    extra: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Draw one subplot per graph, one line per entry of its `lines` (label and colour from the config),
    against the day `i`, and save it as a PNG. `frame` is `Result.frame()` (or `simcore.engine.stats_frame`
    of the same rows); with no `graphs`, every numeric column gets its own subplot. `extra` graphs (e.g.
    `wallet_graph`) are drawn below the scenario's. `path` may also be a binary file object."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(path, Path):
        check_writable(path)
    panels = [*(list(graphs) or column_graphs(frame)), *extra]
    if not panels:
        raise ReportError("nothing to plot: the scenario has no graphs and its daily stats no numeric columns")
    width, height = PANEL_SIZE
    figure = Figure(figsize=(width, height * len(panels)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for axes, graph in zip(axes_list, panels, strict=True):
        name = str(graph.get("name", graph.get("key", "")))
        for line in graph.get("lines", ()):
            _plot_line(axes, frame, name, line)
        axes.set_title(name)
        if axes.lines:
            axes.legend(loc="best")
        axes.grid(alpha=0.3)
    axes_list[-1].set_xlabel("day")
    if title:
        figure.suptitle(title)
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
