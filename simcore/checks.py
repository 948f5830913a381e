"""What simcore accepts as a number or a count (the one place these rules are written), and how it lists names."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def is_number(value: Any) -> bool:
    """True for a finite int or float; bools, strings, None, NaN and infinities are not numbers here."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def is_count(value: Any, minimum: int) -> bool:
    """True for a whole number (an int, not a bool) of at least `minimum`."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def listed(names: Iterable[str]) -> str:
    """Names for a message: "a, b, c", or "none"."""
    return ", ".join(names) or "none"
