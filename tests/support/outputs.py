"""Reading what the CLI writes, shared by its tests: a rich table's row, JSON that must be strict, a PNG's size."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the rich-table row whose first cell is `first_cell`."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in re.split("[│┃]", line.strip("│┃ "))]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row {first_cell!r} in:\n{output}")


def strict_json(path: Path):
    """The file's JSON, refusing NaN and infinities (which are not JSON)."""

    def reject(constant: str):
        raise AssertionError(f"{path} holds {constant}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=reject)


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, asserting it is one."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])
