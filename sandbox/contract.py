"""What a player must be and what bounds it, stated once: every part that checks, prompts or caps imports it.

Cheap to import (no RestrictedPython, no simcore): the evolver checks model replies against it before the
sandbox ever sees them.
"""

from __future__ import annotations

FN_ARGUMENTS = ("i", "v", "r", "s", "p")
FN_CALL = f"fn({', '.join(FN_ARGUMENTS)})"
"""How the slot calls a player, every day: positionally, with nothing else."""

PLAYER_FILENAME = "<player>"
"""The filename player code is compiled under; tracebacks (and a crashed child's fault dump) use it to find the
player's lines."""

MAX_SOURCE_BYTES = 64 * 1024
"""A player's code, in UTF-8 bytes: larger code is refused before it is parsed."""

MAX_PRINT_BYTES = 16 * 1024
"""What a player's prints keep, in UTF-8 bytes; the rest is dropped."""

MAX_REPORT_BYTES = 1024 * 1024
"""A sandbox child's report, in bytes: metrics, notes, prints, an error."""

DETAIL_REPORT_BYTES = 32 * 1024 * 1024
"""A report that also carries a run's daily stats (for tables and charts)."""


def takes_player_arguments(positional: int, defaults: int, varargs: bool, required_keywords: bool) -> bool:
    """Whether a function with `positional` parameters (of which `defaults` have defaults), a `*args` or not, and
    keyword-only parameters without defaults or not, can be called as `fn(i, v, r, s, p)`."""
    count = len(FN_ARGUMENTS)
    return positional - defaults <= count and (positional >= count or varargs) and not required_keywords
