"""Built-in netlists: TokenSPICE models rebuilt on `simcore.agents`, each checked against TokenSPICE's own runs.

`NETLISTS` names each one with what a front end needs to run and show it: a line of description, its default
length, the KPIs a summary shows and its graphs (AI3's graph configs, over the logged columns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simcore.netlists.wsloop import Wsloop, WsloopStrategy, run_wsloop

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class NetlistInfo:
    """A built-in netlist: `run(days=…, years=…)` gives its logged rows (one a day, TokenSPICE's columns)."""

    name: str
    title: str
    description: str
    run: Callable[..., pd.DataFrame]
    days: float  # the default run's length
    kpis: tuple[str, ...]
    graphs: tuple[dict[str, Any], ...]


def _graph(name: str, *keys: str) -> dict[str, Any]:
    return {"key": name, "name": name, "lines": [{"label": key, "key": key} for key in keys]}


NETLISTS = {
    "wsloop": NetlistInfo(
        "wsloop",
        "TokenSPICE's Web3 sustainability loop",
        "TokenSPICE's Web3 sustainability loop: marketplaces' revenue, OCEAN burned and minted, grants to R&D, "
        "valuation; hourly ticks, no randomness.",
        run_wsloop,
        10,
        ("OCEAN_price", "tot_OCEAN_supply", "allmkts_rev/yr", "ocean_rev/yr", "overall_valuation", "RND/mo"),
        (
            _graph("OCEAN price (USD)", "OCEAN_price"),
            _graph("OCEAN supply", "tot_OCEAN_supply", "tot_OCEAN_minted", "tot_OCEAN_burned"),
            _graph("Revenue per year (USD)", "allmkts_rev/yr", "ocean_rev/yr"),
            _graph("Valuation (USD)", "overall_valuation", "fundamentals_valuation", "speculation_valuation"),
            _graph("Monthly funding (USD)", "RND/mo", "dao_total_in_USD/mo"),
        ),
    ),
}

__all__ = ["NETLISTS", "NetlistInfo", "Wsloop", "WsloopStrategy", "run_wsloop"]
