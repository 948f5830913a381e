"""The vc plugin: AI3's VC round — a share of a token's supply locked, vested daily after a cliff, sold to a target.

Months are 30 days (a fractional month is rounded to whole days). The release days are
`cliff_days + 1 … cliff_days + vesting_days`: each releases `total / vesting_days` (not rounded down, unlike
AI3) and the last one releases exactly what is left, so the releases sum to the locked total. `vesting = 0`
releases everything on the first day after the cliff. `unlock(day)` catches up on release days it was not
called for, returns what it released (AI3 returns 0 on the final tranche), and releases nothing for a day
at or before the last one it was called with.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from simcore.checks import is_number
from simcore.errors import PluginError
from simcore.plugins.base import Plugin, PluginSpec, state_var
from simcore.plugins.dex import Dex
from simcore.plugins.token import linked_token
from simcore.variables import Variable

DAYS_PER_MONTH = 30
MAX_MONTHS = 12_000  # a thousand years: beyond it a schedule is a mistake, not a plan


class Vc(Plugin):
    """State `v`: `locked` (not yet released), `unlocked` (released so far), `sold`, `gain` (proceeds of sales)."""

    def __init__(self, key: str, ticker: str, total: float, vesting_days: int, cliff_days: int, target: float) -> None:
        super().__init__(key)
        self.ticker, self.total, self.target = ticker, total, target
        self.start = cliff_days
        self.span = max(vesting_days, 1)
        self.last_day: float = -math.inf
        self.v = {"locked": total, "unlocked": 0.0, "sold": 0.0, "gain": 0.0}

    @property
    def rate(self) -> float:
        """Tokens released on each release day but the last."""
        return self.total / self.span

    @property
    def available(self) -> float:
        """Released tokens not yet sold: the VC's wallet."""
        return self.v["unlocked"] - self.v["sold"]

    def due(self, day: int) -> float:
        """Tokens released by the end of `day` under the schedule (the exact total from the last release day on)."""
        days = day - self.start
        if days <= 0:
            return 0.0
        return self.total if days >= self.span else self.rate * days

    def unlock(self, day: int) -> float:
        """Release what is due by `day` and not yet released; returns the amount released (0 if nothing)."""
        if day <= self.last_day:
            return 0.0
        self.last_day = day
        due = self.due(day)
        released = due - self.v["unlocked"]
        self.v["unlocked"] = due
        self.v["locked"] = self.total - due
        return released

    def sell(self, dex: Dex) -> float:
        """Sell released tokens into `dex` as long as the average fill price stays at or above the target.

        Returns the amount sold (0 when the price is below the target or nothing is available); the quote
        token received is added to `gain`.
        """
        amount = min(self.available, dex.max_sell(self.ticker, self.target))
        if amount <= 0:
            return 0.0
        self.v["gain"] += dex.sell(self.ticker, amount)
        self.v["sold"] += amount
        return amount


# option -> (generated variable suffix, display label); `build` reads these variables, so overrides apply
OPTIONS = {
    "per": ("p", "% of Supply"),
    "val": ("v", "Valuation"),
    "vesting": ("vp", "Vesting Months"),
    "cliff": ("c", "Cliff Months"),
    "sell": ("sp", "Sell Price"),
}


class VcSpec(PluginSpec):
    """Options: `round` (display name), `token` (key of an earlier token plugin), `per` (% of its supply),
    `val` (valuation), `vesting` and `cliff` (months), `sell` (target price)."""

    kind = "vc"

    def variables(self, key: str) -> dict[str, Variable]:
        name, token = self.option("round", key), self.option("token")
        per, val, its = f"{key}_p", f"{key}_v", f"{token}_its"
        options = {
            f"{key}_{suffix}": Variable(f"{name} {label}", self.option(opt)) for opt, (suffix, label) in OPTIONS.items()
        }
        return {
            **options,
            f"{key}_s": Variable(
                f"{name} Sales", lambda g: g(per) / 100 * g(val), display={"calc": f"{per} / 100 * {val}"}
            ),
            f"{key}_tp": Variable(f"{name} Token Price", lambda g: g(val) / g(its), display={"calc": f"{val} / {its}"}),
            f"{key}_locked": state_var(key, "locked", f"{name} Locked"),
            f"{key}_unlocked": state_var(key, "unlocked", f"{name} Unlocked"),
            f"{key}_sold": state_var(key, "sold", f"{name} Sold"),
            f"{key}_gain": state_var(key, "gain", f"{name} Gain"),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Vc:
        values = {opt: _checked(opt, f"{key}_{suffix}", v[f"{key}_{suffix}"]) for opt, (suffix, _) in OPTIONS.items()}
        token = linked_token(self.kind, self.option("token"), plugins)
        total = values["per"] / 100 * token.v["ts"]
        vesting, cliff = (round(values[opt] * DAYS_PER_MONTH) for opt in ("vesting", "cliff"))
        return Vc(key, token.ticker, total, vesting, cliff, values["sell"])


def _checked(option: str, variable: str, value: Any) -> float:
    """`value` if it is in the option's range; otherwise a PluginError naming the option and its variable."""
    if not is_number(value):
        raise PluginError(f"vc option {option!r} ({variable}) must be a finite number, got {value!r}")
    if option == "per" and not 0 < value <= 100:
        raise PluginError(f"vc option 'per' ({variable}) must be in (0, 100], got {value!r}")
    if option in ("vesting", "cliff") and not 0 <= value <= MAX_MONTHS:
        raise PluginError(f"vc option {option!r} ({variable}) must be 0 to {MAX_MONTHS} months, got {value!r}")
    if option in ("val", "sell") and value <= 0:
        raise PluginError(f"vc option {option!r} ({variable}) must be > 0, got {value!r}")
    return value
