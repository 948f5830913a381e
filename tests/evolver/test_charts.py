"""Charts from AI3 graph configs, in both of AI3's spellings of a line's column: the panels resolved once for the
PNG and for the page's charts, and the PNG drawing exactly those."""

import math
import struct

import matplotlib
import pytest
from matplotlib.colors import to_hex

import simcore
from evolver.charts import CYCLE, Line, Panel, browser_color, chart_panels, figure, slot_graphs, values, write_chart
from evolver.report import ReportError


def png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.mark.parametrize("field", ["key", "val"])
def test_a_line_names_its_column_by_key_or_by_val(tmp_path, field):
    frame = simcore.simulate("ai3_quickstart").frame()
    graphs = [
        {"name": "Price", "lines": [{"label": "price", field: "price"}]},
        {"name": "AI", "lines": [{field: "ai"}]},
    ]
    write_chart(tmp_path / "chart.png", frame, graphs)
    assert png_size(tmp_path / "chart.png") == (900, 600)
    assert chart_panels(frame, graphs) == [
        Panel("Price", (Line("price", CYCLE[0], "price"),)),
        Panel("AI", (Line("ai", CYCLE[0], "ai"),)),
    ]


def test_an_unknown_column_is_named_with_a_suggestion(tmp_path):
    frame = simcore.simulate("ai3_plugins").frame()
    graphs = [{"name": "P", "lines": [{"val": "dex.lc"}]}]
    for draw in (lambda: write_chart(tmp_path / "chart.png", frame, graphs), lambda: chart_panels(frame, graphs)):
        with pytest.raises(ReportError, match=r"graph 'P': line key 'dex.lc' is not a column .*did you mean"):
            draw()


def test_the_panels_are_what_the_png_draws():
    """The scenario's graphs, then the slot's markets and wallet: titles, labels, colours (a line without one takes
    the next colour of matplotlib's cycle, as the PNG gives it) and each line's values, a non-number as NaN."""
    scenario = simcore.load_scenario("ai3_plugins")
    frame = simcore.simulate("ai3_plugins", years=0.1).frame()
    frame["total_sell"] = frame["total_sell"].astype(object)
    frame.loc[frame.index[3], "total_sell"] = "n/a"  # a value that is not a number
    frame["player.USDC"], frame["player.AI"] = 50.0, None  # the wallet a run with a player has
    panels = chart_panels(frame, scenario.graphs, slot_graphs(scenario))
    assert [panel.title for panel in panels] == [graph["name"] for graph in scenario.graphs] + [
        "Markets",
        "Player wallet",
    ]
    trades = next(panel for panel in panels if panel.title == "DEX Trades")
    assert [line.color for line in trades.lines] == [CYCLE[0], "#DC143C"]  # the given colour does not use the cycle
    assert list(CYCLE) == [to_hex(c) for c in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]]  # its default
    assert math.isnan(values(frame, "total_sell").iloc[3]) and values(frame, "player.AI").isna().all()

    drawn = figure(frame, panels, "title")
    assert [axes.get_title() for axes in drawn.axes] == [panel.title for panel in panels]
    for axes, panel in zip(drawn.axes, panels, strict=True):
        assert len(axes.lines) == len(panel.lines)
        for plotted, line in zip(axes.lines, panel.lines, strict=True):
            assert (plotted.get_label(), to_hex(plotted.get_color())) == (line.label, to_hex(line.color))
            assert list(plotted.get_xdata()) == list(frame["i"])
            assert list(plotted.get_ydata()) == pytest.approx(list(values(frame, line.key)), nan_ok=True)


@pytest.mark.parametrize(
    ("given", "drawn"),
    [("C1", CYCLE[1]), ("tab:green", CYCLE[2]), ("crimson", "#dc143c"), ("0.5", "#808080"),
     ("xkcd:sky blue", "#75bbfd"), ("#DC143C", "#dc143c"), ("#ff000080", "#ff000080"),
     ("rgb(1, 2, 3)", "rgb(1, 2, 3)")],
)  # fmt: skip
def test_a_colour_is_given_to_the_browser_as_the_png_draws_it(given, drawn):
    assert browser_color(given) == drawn
