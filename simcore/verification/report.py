"""How verification results are shown: plain JSON data and PNG charts.

matplotlib is imported only when a chart is drawn (so `import simcore` and the CLI stay fast), on an Agg canvas of
the figure's own, never through pyplot's global state. A chart is written to a path or a binary file object: the one
place simcore writes, because the results are asked for as files; pass a `BytesIO` to keep a run free of I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from simcore.errors import SimulationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Target = str | Path | BinaryIO
DPI = 100


def plain(value: Any) -> Any:
    """`value` as JSON data: numpy values as Python ones, tuples as lists, NaN and infinities as None."""
    if isinstance(value, Mapping):
        return {str(key): plain(x) for key, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if type(value).__module__ == "numpy":  # a numpy scalar or array
        return plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _figure(panels: int, height: float = 3.2) -> tuple[Figure, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, height * panels), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(panels, 1, squeeze=False)[:, 0]


def _save(figure: Figure, target: Target) -> None:
    try:
        figure.savefig(target, format="png")
    except OSError as exc:
        raise SimulationError(f"cannot write the chart to {target}: {exc.strerror or exc}") from exc


def margin_chart(
    target: Target,
    margins: Sequence[float],
    title: str,
    tail: Mapping[str, Any] | None = None,
) -> None:
    """A histogram of finite margins with the failure line at 0; with `tail`, a second panel of the lower tail,
    P(margin < x) on a log scale: the runs, each fitted model's curve extrapolated to 0 and the estimate with its
    interval. `tail` holds `estimate`, `interval`, `threshold` (the generalized Pareto's, or NaN) and `curves`
    (label -> (x, P(margin < x)))."""
    import numpy as np

    values = np.array([m for m in margins if m is not None and math.isfinite(m)], dtype=float)
    figure, axes = _figure(2 if tail else 1)
    hist = axes[0]
    if len(values):
        hist.hist(values, bins=min(80, max(10, int(math.sqrt(len(values))))), color="#4C72B0", alpha=0.8)
    hist.axvline(0, color="#C44E52", label="failure (margin 0)")
    threshold = tail.get("threshold") if tail else None
    if threshold is not None and math.isfinite(threshold):
        hist.axvline(threshold, color="#DD8452", linestyle="--", label="generalized Pareto threshold")
    hist.set_xlabel("margin")
    hist.set_ylabel("runs")
    hist.set_title(title)
    hist.legend(loc="best")
    if tail and len(values):
        _tail_panel(axes[1], np.sort(values), len(margins), tail)
    _save(figure, target)


CURVE_STYLES = ({"color": "#8172B3"}, {"color": "#DD8452", "linestyle": "--"}, {"color": "#55A868", "linestyle": ":"})


def _tail_panel(axes: Any, ordered: Any, runs: int, tail: Mapping[str, Any]) -> None:
    import numpy as np

    shown = ordered[: max(1, int(0.2 * len(ordered)))]
    axes.semilogy(shown, np.arange(1, len(shown) + 1) / runs, ".", ms=3, color="#4C72B0", label="runs")
    for (label, (x, p)), style in zip(dict(tail.get("curves") or {}).items(), CURVE_STYLES * 3, strict=False):
        p = np.asarray(p, dtype=float)
        keep = p > 0
        axes.semilogy(np.asarray(x, dtype=float)[keep], p[keep], label=label, **style)
    estimate, interval = tail.get("estimate"), tail.get("interval")
    if estimate and interval:
        low, high = interval
        axes.errorbar(
            [0],
            [estimate],
            yerr=[[estimate - max(low, estimate * 1e-3)], [high - estimate]],
            fmt="o",
            color="#C44E52",
            capsize=4,
            label=f"estimate {estimate:.3g}",
        )
    axes.axvline(0, color="#C44E52")
    axes.set_xlabel("margin")
    axes.set_ylabel("P(margin < x)")
    axes.set_title("lower tail")
    axes.legend(loc="best")


def corner_chart(target: Target, margins: Sequence[float], ranking: Sequence[tuple[str, float]], title: str) -> None:
    """The margin of each corner in the order the search simulated them (and the least so far), and the worst
    corners found, as bars."""
    import numpy as np

    values = np.array([math.nan if m is None else m for m in margins], dtype=float)
    figure, axes = _figure(2)
    trace = axes[0]
    order = np.arange(1, len(values) + 1)
    trace.plot(order, values, ".", label="corner margin")
    trace.plot(order, np.fmin.accumulate(values), color="#C44E52", label="least so far")
    trace.axhline(0, color="grey", linewidth=0.8)
    trace.set_xlabel("simulation")
    trace.set_ylabel("margin")
    trace.set_title(title)
    trace.legend(loc="best")
    worst = list(ranking)[:15]
    bars = axes[1]
    bars.barh(range(len(worst)), [math.nan if m is None else m for _, m in worst], color="#4C72B0")
    bars.set_yticks(range(len(worst)), [label for label, _ in worst], fontsize=7)
    bars.invert_yaxis()
    bars.axvline(0, color="grey", linewidth=0.8)
    bars.set_xlabel("margin")
    bars.set_title("worst corners simulated")
    _save(figure, target)


Bars = Mapping[str, tuple[Sequence[float], Sequence[float] | None]]


def sensitivity_chart(target: Target, names: Sequence[str], series: Bars, title: str) -> None:
    """Grouped bars per parameter, one group member per index (`series`: label -> (values, confidence or None))."""
    import numpy as np

    figure, axes = _figure(1, height=3.6)
    bars = axes[0]
    width = 0.8 / max(1, len(series))
    x = np.arange(len(names))
    for j, (label, (values, conf)) in enumerate(series.items()):
        heights = [math.nan if v is None else v for v in values]
        errors = None if conf is None else [0 if c is None else c for c in conf]
        bars.bar(x + j * width - 0.4 + width / 2, heights, width, yerr=errors, capsize=3, label=label)
    bars.set_xticks(x, list(names), rotation=20, fontsize=8)
    bars.set_title(title)
    bars.legend(loc="best")
    _save(figure, target)


def matrix_chart(
    target: Target, shares: Sequence[Sequence[float]], marks: Sequence[Sequence[str]], rows: Sequence[str],
    columns: Sequence[str],
) -> None:  # fmt: skip
    """A design matrix: rows x columns, each cell coloured by the share of runs its criterion held on and marked."""
    import textwrap

    figure, (axes,) = _figure(1, height=0.55 * len(rows) + 2.5)
    figure.set_size_inches(max(8.0, 1.6 * len(columns) + 4.5), 0.55 * len(rows) + 2.5)
    image = axes.imshow(shares, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(columns)), [textwrap.fill(c, 16) for c in columns], fontsize=8)
    axes.set_yticks(range(len(rows)), [textwrap.fill(r, 48) for r in rows], fontsize=8)
    for i, row in enumerate(marks):
        for j, mark in enumerate(row):
            axes.text(j, i, mark, ha="center", va="center", fontsize=12)
    figure.colorbar(image, ax=axes, label="share of runs the criterion held on")
    _save(figure, target)
