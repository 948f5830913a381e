"""Built-in netlists: TokenSPICE models rebuilt on `simcore.agents`, each checked against TokenSPICE's own runs.

`NETLISTS` names each one with what a front end needs to run and show it: a line of description, its default
length, the KPIs a summary shows and its graphs (AI3's graph configs, over the logged columns), and what the
`netlist` plugin needs to run it in a scenario: a fresh netlist at a tick length and the KPIs its state holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simcore.netlists.wsloop import SEAT_PAYMENTS, Wsloop, WsloopStrategy, run_wsloop

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Kpi:
    """A logged column as the `netlist` plugin's state holds it: its column, a variable's name for it and its unit."""

    column: str
    name: str
    unit: str | None = None


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
    make: Callable[[int], Wsloop] | None = None  # a fresh netlist ticking every that many seconds, for the plugin
    state: dict[str, Kpi] = field(default_factory=dict)  # the plugin's state names, each a logged column's value


def _wsloop(tick_seconds: int) -> Wsloop:
    return Wsloop(WsloopStrategy(tick_seconds=tick_seconds))


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
        _wsloop,
        {
            "price": Kpi("OCEAN_price", "OCEAN Price", "USD"),
            "supply": Kpi("tot_OCEAN_supply", "OCEAN Supply", "OCEAN"),
            "minted": Kpi("tot_OCEAN_minted", "OCEAN Minted", "OCEAN"),
            "burned": Kpi("tot_OCEAN_burned", "OCEAN Burned", "OCEAN"),
            "revenue": Kpi("ocean_rev/mo", "Network Revenue over the Last Month", "USD"),
            "annual_revenue": Kpi("ocean_rev/yr", "Network Revenue over the Last Year", "USD"),
            "rnd": Kpi("RND/mo", "R&D Spend over the Last Month", "USD"),
            "rnd_to_sales": Kpi("rnd_to_sales_ratio", "R&D-to-Sales Ratio"),
            "growth": Kpi("mkts_annual_growth_rate", "Marketplaces' Yearly Growth Rate"),
            "marketplaces": Kpi("Num_mkts", "Marketplaces"),
            "valuation": Kpi("overall_valuation", "OCEAN Valuation", "USD"),
            "fundamentals": Kpi("fundamentals_valuation", "Fundamentals Valuation", "USD"),
            "speculation": Kpi("speculation_valuation", "Speculative Valuation", "USD"),
            "dao_usd": Kpi("dao_USD/mo", "USD to OceanDAO over the Last Month", "USD"),
            "dao_ocean": Kpi("dao_OCEAN/mo", "OCEAN to OceanDAO over the Last Month", "OCEAN"),
        },
    ),
}

__all__ = ["NETLISTS", "SEAT_PAYMENTS", "Kpi", "NetlistInfo", "Wsloop", "WsloopStrategy", "run_wsloop"]
