"""TokenSPICE's Web3 sustainability loop ("wsloop"), as its code runs it (`assets/netlists/wsloop/`; the spec is
shared/reference/wsloop.md, its sections cited as §).

Marketplaces grow at a rate set by last month's R&D spend over last month's network revenue and pay a 0.2 % toll
to the network; 95 % of it goes to OceanDAO, 5 % buys and burns OCEAN. OceanDAO also gets 51 % minting (from
half a year on) and, for 36 months, OPF grants; it and OPF/BDB management pass all of it to workers, whose spend
is the R&D. OCEAN's price is (30 times the last year's network revenue + a speculative valuation) / supply.

The agents update in the order the source declares them (spec §2.1): TokenSPICE's own order is that of a Python
set of objects, which changes from process to process; this one lets every flow finish within its tick.

A policy may take a router's seat (`simcore.plugins.netlist`): the router then diverts what it receives to the
seat's account, and the policy pays into the loop what it chooses (`pay`, SEAT_PAYMENTS).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simcore.agents import (
    Agent,
    FuncMinterAgent,
    GrantGivingAgent,
    GrantTakingAgent,
    Netlist,
    RampedExpSchedule,
    RevenueWindows,
    RouterAgent,
    TrailingSums,
    max_ticks,
    run,
)
from simcore.agents.netlist import S_PER_DAY, S_PER_HOUR, S_PER_MONTH, S_PER_YEAR
from simcore.agents.wallet import OCEAN, USD
from simcore.checks import is_number
from simcore.errors import SimulationError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "Num_mkts",
    "onemkt_rev/mo",
    "onemkt_rev/yr",
    "allmkts_rev/mo",
    "allmkts_rev/yr",
    "ocean_rev/mo",
    "ocean_rev/yr",
    "ocean_rev_growth/mo",
    "ocean_rev_growth/yr",
    "ps30_valuation",
    "overall_valuation",
    "fundamentals_valuation",
    "speculation_valuation",
    "tot_OCEAN_supply",
    "tot_OCEAN_minted",
    "tot_OCEAN_burned",
    "OCEAN_minted/mo",
    "OCEAN_burned/mo",
    "OCEAN_minted_USD/mo",
    "OCEAN_burned_USD/mo",
    "OCEAN_price",
    "RND/mo",
    "rnd_to_sales_ratio",
    "mkts_annual_growth_rate",
    "dao_USD/mo",
    "dao_OCEAN/mo",
    "dao_OCEAN_in_USD/mo",
    "dao_total_in_USD/mo",
)

SEAT_PAYMENTS = {"fund": USD, "grant": OCEAN, "burn": USD, "retire": OCEAN}
"""What a policy in a router's seat may pay into the loop, in which token (`Wsloop.pay`)."""


@dataclass(frozen=True)
class WsloopStrategy:
    """The loop's parameters (`SimStrategy.py` and the constants of `SimState.py`, spec §3, §5), defaults as there.

    The tick may be any length that divides a day (TokenSPICE's is an hour). TokenSPICE's pool weights are
    unused by this netlist and left out.
    """

    tick_seconds: int = S_PER_HOUR
    init_n_marketplaces: float = 1.0
    revenue_per_marketplace_per_month: float = 20e3  # USD, at the start
    growth_rate_if_0_sales: float = -0.118  # the marketplaces' yearly growth with no R&D ...
    max_growth_rate: float = 0.415  # ... and with R&D far above sales
    tau: float = 0.6  # the R&D-to-sales ratio that gets half way from the one to the other
    marketplace_percent_toll_to_ocean: float = 0.002  # share of sales paid to the network
    percent_burn: float = 0.05  # share of the network's revenue that buys and burns OCEAN (the rest: OceanDAO)
    total_ocean_supply: float = 1.41e9
    init_ocean_share: float = 0.49  # in circulation at the start; the rest is minted on `mint_schedule`
    mint_schedule: RampedExpSchedule = field(
        default_factory=lambda: RampedExpSchedule(4.0, 0.5, 1.0, 1.4, 3.0, 0.10, 0.25, 0.50)
    )
    opf_treasury_usd: float = 2e6
    opf_treasury_ocean_for_ocean_dao: float = 100e6
    opf_treasury_ocean_for_opf_mgmt: float = 100e6
    opf_grants: int = 36  # monthly grants, each treasury
    bdb_treasury_usd: float = 2e6
    bdb_treasury_ocean: float = 20e6
    bdb_grants: int = 17
    speculation_valuation: float = 150e6  # USD, at the start
    speculation_growth_per_year: float = 0.10  # simple rate, compounded each tick
    price_to_sales: float = 30.0  # fundamentals valuation = this times the last year's network revenue

    @property
    def init_ocean_supply(self) -> float:
        """OCEAN in circulation at the start (690.9e6)."""
        return self.init_ocean_share * self.total_ocean_supply

    @property
    def unminted_ocean_supply(self) -> float:
        """OCEAN the 51 % minter will mint in all (719.1e6)."""
        return self.total_ocean_supply - self.init_ocean_supply

    def annual_mkts_growth_rate(self, rnd_to_sales: float) -> float:
        """The marketplaces' yearly growth for an R&D-to-sales ratio: from `growth_rate_if_0_sales` at 0 towards
        `max_growth_rate`, half way at `tau` (`annualMktsGrowthRate`)."""
        span = self.max_growth_rate - self.growth_rate_if_0_sales
        return self.growth_rate_if_0_sales + span * (1.0 - math.pow(0.5, rnd_to_sales / self.tau))


class MarketplacesAgent(Agent):
    """All marketplaces as one agent (`MarketplacesAgent.py`, spec §5.1): their number and revenue each grow at
    the rate the R&D-to-sales ratio sets, and they pay the toll on this tick's sales to `toll_receiver`."""

    def __init__(
        self, name: str, toll_receiver: Agent, n_marketplaces: float, revenue_per_s: float, tick_seconds: int
    ) -> None:
        super().__init__(name)
        self.toll_receiver = toll_receiver
        self.n_marketplaces = n_marketplaces
        self.revenue_per_marketplace_per_s = revenue_per_s
        self.tick_seconds = tick_seconds
        self._year_fraction = 1.0 / (S_PER_YEAR / float(tick_seconds))  # of a tick: (1 + yearly) ** it - 1 a tick

    def take_step(self, state: Wsloop) -> None:
        strategy = state.strategy
        growth_per_year = strategy.annual_mkts_growth_rate(state.rnd_to_sales_ratio)
        growth = math.pow(growth_per_year + 1, self._year_fraction) - 1.0
        self.n_marketplaces *= 1.0 + growth
        self.revenue_per_marketplace_per_s *= 1.0 + growth
        sales = self.n_marketplaces * self.revenue_per_marketplace_per_s * self.tick_seconds
        self.toll_receiver.wallet.deposit(USD, sales * strategy.marketplace_percent_toll_to_ocean)


class OceanBurnerAgent(Agent):
    """Buys OCEAN with all its USD and burns it (`OCEANBurnerAgent.py`, spec §5.4): in 10 equal slices, each at
    the price the burns before it left, so the price rises as it buys. The OCEAN comes from the market, not a
    wallet: only `burned` (and hence the supply) changes."""

    SLICES = 10

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.burned = 0.0
        self.burned_usd = 0.0

    def take_step(self, state: Wsloop) -> None:
        usd = self.wallet.balance(USD)
        if usd > 0.0:
            per_slice = usd / float(self.SLICES)
            # state.ocean_price() before each slice, written out: only `burned` changes while it buys
            valuation, unburned = state.overall_valuation(), state.unburned_supply()
            burned, burned_usd = self.burned, self.burned_usd
            for _ in range(self.SLICES):
                burned += per_slice / (valuation / (unburned - burned))
                burned_usd += per_slice
            self.burned, self.burned_usd = burned, burned_usd
            self.wallet.transfer(USD, self.wallet.balance(USD), None)

    def retire(self, ocean: float) -> None:
        """Burn `ocean` OCEAN handed to it (a seat's): it leaves the supply at once, bought from no one."""
        self.burned += ocean


class Wsloop(Netlist):
    """The loop's agents, in golden order, and its KPIs (`SimState.py`, `KPIs.py`, spec §3, §6)."""

    columns = COLUMNS

    def __init__(self, strategy: WsloopStrategy | None = None) -> None:
        self.strategy = s = strategy or WsloopStrategy()
        if not isinstance(s.tick_seconds, int) or s.tick_seconds <= 0 or S_PER_DAY % s.tick_seconds:
            raise SimulationError(f"wsloop's tick must divide a day (86400 s) into whole ticks; got {s.tick_seconds!r}")
        self._month_ticks, self._year_ticks = S_PER_MONTH // s.tick_seconds, S_PER_YEAR // s.tick_seconds
        super().__init__(s.tick_seconds, self._wire(s))
        self.speculation_valuation = s.speculation_valuation
        self._speculation_growth = 1.0 + (s.speculation_growth_per_year / S_PER_YEAR) * s.tick_seconds
        self._init_supply = s.init_ocean_supply
        # KPIs: per-tick histories, and what the agents read of them between two KPI steps
        self._onemkt = RevenueWindows(s.tick_seconds, S_PER_YEAR)
        self._allmkts = RevenueWindows(s.tick_seconds, S_PER_YEAR)
        self._ocean = RevenueWindows(s.tick_seconds, S_PER_YEAR)
        self._rnd = TrailingSums(self._month_ticks)
        self._totals: deque[tuple[float, float, float, float]] = deque(maxlen=self._month_ticks + 1)
        self.fundamentals_valuation = 0.0  # P/S times the last year's network revenue
        self.rnd_to_sales_ratio = 0.0  # the last month's R&D spend / network revenue

    def _wire(self, s: WsloopStrategy) -> tuple[Agent, ...]:
        """The agents, connected as `SimState.__init__` connects them, in golden order (spec §2.1)."""
        opc_workers = GrantTakingAgent("opc_workers", self.ocean_price)
        bdb_workers = GrantTakingAgent("bdb_workers", self.ocean_price)
        self.grant_takers = (opc_workers, bdb_workers)
        self.ocean_dao = ocean_dao = RouterAgent("ocean_dao", [(opc_workers, _all)], keep=self._month_ticks)
        opf_mgmt = RouterAgent("opf_mgmt", [(opc_workers, _all)])
        bdb_mgmt = RouterAgent("bdb_mgmt", [(bdb_workers, _all)])
        self.burner = burner = OceanBurnerAgent("opc_burner")
        opc_address = RouterAgent("opc_address", [(ocean_dao, self._percent_to_dao), (burner, self._percent_burn)])
        per_s = s.revenue_per_marketplace_per_month / S_PER_MONTH
        self.marketplaces = MarketplacesAgent(
            "marketplaces1", opc_address, s.init_n_marketplaces, per_s, s.tick_seconds
        )
        self.minter = FuncMinterAgent("ocean_51", ocean_dao, s.unminted_ocean_supply, S_PER_DAY, s.mint_schedule)
        treasuries = (
            GrantGivingAgent(
                "opf_treasury_for_ocean_dao",
                ocean_dao,
                seconds_between=S_PER_MONTH,
                n_grants=s.opf_grants,
                ocean=s.opf_treasury_ocean_for_ocean_dao,
            ),
            GrantGivingAgent(
                "opf_treasury_for_opf_mgmt",
                opf_mgmt,
                seconds_between=S_PER_MONTH,
                n_grants=s.opf_grants,
                usd=s.opf_treasury_usd,
                ocean=s.opf_treasury_ocean_for_opf_mgmt,
            ),
            GrantGivingAgent(
                "bdb_treasury",
                bdb_mgmt,
                seconds_between=S_PER_MONTH,
                n_grants=s.bdb_grants,
                usd=s.bdb_treasury_usd,
                ocean=s.bdb_treasury_ocean,
            ),
        )
        routers = (ocean_dao, opf_mgmt, bdb_mgmt)
        return (self.marketplaces, opc_address, burner, self.minter, *treasuries, *routers, *self.grant_takers)

    def pay(self, action: str, amount: float) -> None:
        """A seat's payment of `amount` (SEAT_PAYMENTS) into the loop: `fund` and `grant` give OPC's workers USD or
        OCEAN, spent as R&D at their next step; `burn` gives the burner USD to buy OCEAN and burn at its next step;
        `retire` burns OCEAN at once."""
        workers, burner = self.grant_takers[0].wallet, self.burner
        if action == "retire":
            burner.retire(amount)
        else:
            (burner.wallet if action == "burn" else workers).deposit(SEAT_PAYMENTS[action], amount)

    def _percent_to_dao(self) -> float:
        return 1.0 - self.strategy.percent_burn

    def _percent_burn(self) -> float:
        return self.strategy.percent_burn

    def overall_valuation(self) -> float:
        """USD: the fundamentals (P/S times the last year's network revenue) plus the speculative valuation."""
        return self.fundamentals_valuation + self.speculation_valuation

    def unburned_supply(self) -> float:
        """OCEAN in circulation but for the burns: the initial supply plus what was minted."""
        return self._init_supply + self.minter.minted

    def ocean_supply(self) -> float:
        """OCEAN in circulation: the initial supply, plus what was minted, less what was bought and burned."""
        return self.unburned_supply() - self.burner.burned

    def ocean_price(self) -> float:
        """USD per OCEAN (spec §3.1): overall_valuation() / ocean_supply(), written out as it is read often."""
        return (self.fundamentals_valuation + self.speculation_valuation) / (
            self._init_supply + self.minter.minted - self.burner.burned
        )

    def end_step(self) -> None:
        """KPIs.takeStep (spec §6.1), then the speculative valuation's growth."""
        rnd = 0.0
        for taker in self.grant_takers:
            rnd += taker.spent_at_tick
        self._rnd.push(rnd)
        revenue, n_marketplaces = self.marketplaces.revenue_per_marketplace_per_s, self.marketplaces.n_marketplaces
        all_markets = revenue * n_marketplaces
        self._onemkt.record(revenue)
        self._allmkts.record(all_markets)
        self._ocean.record(all_markets * self.strategy.marketplace_percent_toll_to_ocean)
        self.fundamentals_valuation = self._ocean.last(self._year_ticks) * self.strategy.price_to_sales
        rnd_month, ratio = self._rnd.last(self._month_ticks), 0.0  # mktsRNDToSalesRatio: 0 without R&D spend
        if rnd_month != 0.0:
            sales = self._ocean.last(self._month_ticks)
            if sales == 0.0:  # TokenSPICE raises ZeroDivisionError here (spec quirk 7)
                raise SimulationError(f"tick {self.tick}: R&D spend of {rnd_month!r} USD but no network revenue")
            ratio = rnd_month / sales
        self.rnd_to_sales_ratio = ratio
        minted, price = self.minter.minted, self.ocean_price()
        self._totals.append((minted, self.burner.burned, minted * price, self.burner.burned_usd))
        self.speculation_valuation *= self._speculation_growth

    def log_row(self) -> tuple[float, ...]:
        """`netlist_createLogData` (spec §6.3)."""
        ocean_month, ocean_year = self._ocean.now(S_PER_MONTH), self._ocean.now(S_PER_YEAR)
        minted, burned = self.minter.minted, self.burner.burned
        price = self.ocean_price()
        dao_usd, dao_ocean = self.ocean_dao.received(USD), self.ocean_dao.received(OCEAN)
        return (
            self.marketplaces.n_marketplaces,
            self._onemkt.now(S_PER_MONTH),
            self._onemkt.now(S_PER_YEAR),
            self._allmkts.now(S_PER_MONTH),
            self._allmkts.now(S_PER_YEAR),
            ocean_month,
            ocean_year,
            _growth(ocean_month, self._ocean.ago(S_PER_MONTH)),
            _growth(ocean_year, self._ocean.ago(S_PER_YEAR)),
            ocean_year * self.strategy.price_to_sales,
            self.overall_valuation(),
            self.fundamentals_valuation,
            self.speculation_valuation,
            self.ocean_supply(),
            minted,
            burned,
            *self._month_changes(),
            price,
            self._rnd.last(self._month_ticks),
            self.rnd_to_sales_ratio,
            self.strategy.annual_mkts_growth_rate(self.rnd_to_sales_ratio),
            dao_usd,
            dao_ocean,
            dao_ocean * price,
            dao_usd + dao_ocean * price,
        )

    def _month_changes(self) -> tuple[float, float, float, float]:
        """How minted, burned and their USD values changed over the last month (`_OCEANchangePrevMonth`): their
        latest values while the run is a month old or less."""
        totals = self._totals
        if not totals:
            return (0.0, 0.0, 0.0, 0.0)
        if len(totals) <= self._month_ticks:
            return totals[-1]
        (minted, burned, minted_usd, burned_usd), (minted_0, burned_0, minted_usd_0, burned_usd_0) = (
            totals[-1],
            totals[0],
        )
        return (minted - minted_0, burned - burned_0, minted_usd - minted_usd_0, burned_usd - burned_usd_0)


def _all() -> float:
    return 1.0


def _growth(now: float, before: float) -> float:
    """now / before - 1, infinite when before is 0."""
    return math.inf if before == 0.0 else now / before - 1.0


def run_wsloop(
    days: float | None = None, years: float | None = None, strategy: WsloopStrategy | None = None
) -> pd.DataFrame:
    """Run the loop for `days` or `years` (10 days if neither, TokenSPICE's default); one row per day, 0 to the end."""
    if days is not None and years is not None:
        raise SimulationError("give the run's length in days or in years, not both")
    length, unit = (years, S_PER_YEAR) if years is not None else (10 if days is None else days, S_PER_DAY)
    if not is_number(length) or length < 0:
        raise SimulationError(f"a run's length is a number of days or years, at least 0; got {length!r}")
    wsloop = Wsloop(strategy)
    return run(wsloop, max_ticks(length * unit, wsloop.tick_seconds))
