"""Charts from AI3 graph configs, in both of AI3's spellings of a line's column."""

import struct

import pytest

import simcore
from evolver.charts import write_chart
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


def test_an_unknown_column_is_named_with_a_suggestion(tmp_path):
    frame = simcore.simulate("ai3_plugins").frame()
    with pytest.raises(ReportError, match=r"line key 'dex.lc' .*did you mean"):
        write_chart(tmp_path / "chart.png", frame, [{"name": "P", "lines": [{"val": "dex.lc"}]}])
