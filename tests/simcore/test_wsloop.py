"""wsloop against TokenSPICE's own 10-day run, the wallet's transfer rules, the engine loop, and the books of
longer runs (spec: /work/shared/reference/wsloop.md)."""

import math
from pathlib import Path

import pandas as pd
import pytest

from simcore.agents import OCEAN, USD, Agent, Netlist, RampedExpSchedule, Wallet, WalletError, max_ticks, run
from simcore.agents.netlist import S_PER_DAY, S_PER_HOUR, S_PER_YEAR
from simcore.errors import SimulationError
from simcore.netlists import Wsloop, WsloopStrategy, run_wsloop

GOLDEN = Path(__file__).parent / "data" / "wsloop-golden-10d.csv"
GOLDEN_COLUMNS = tuple(pd.read_csv(GOLDEN, nrows=0).columns)
TOTAL_TO_MINT = 719.1e6


def close(got: float, want: float, rel: float) -> bool:
    """`got` matches `want` to `rel`, relative; infinities and NaN as in `want`, zeros exactly."""
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want) or want == 0.0:
        return got == want
    return math.isclose(got, want, rel_tol=rel, abs_tol=0.0)


@pytest.fixture(scope="module")
def golden() -> pd.DataFrame:
    return pd.read_csv(GOLDEN)


@pytest.fixture(scope="module")
def ten_days() -> pd.DataFrame:
    return run_wsloop()


def test_the_default_run_logs_the_golden_columns_and_days(golden: pd.DataFrame, ten_days: pd.DataFrame) -> None:
    assert tuple(ten_days.columns) == GOLDEN_COLUMNS
    assert list(ten_days["Day"]) == list(golden["Day"]) == [float(day) for day in range(11)]


@pytest.mark.parametrize("column", GOLDEN_COLUMNS)
def test_every_logged_value_matches_tokenspice(column: str, golden: pd.DataFrame, ten_days: pd.DataFrame) -> None:
    wrong = [
        (day, got, want)
        for day, (got, want) in enumerate(zip(ten_days[column], golden[column], strict=True))
        if not close(got, want, 1e-9)
    ]
    assert not wrong, f"{column}: (day, ours, TokenSPICE's) {wrong}"


def test_the_agents_update_in_the_golden_order() -> None:
    assert [agent.name for agent in Wsloop().agents] == [
        "marketplaces1",
        "opc_address",
        "opc_burner",
        "ocean_51",
        "opf_treasury_for_ocean_dao",
        "opf_treasury_for_opf_mgmt",
        "bdb_treasury",
        "ocean_dao",
        "opf_mgmt",
        "bdb_mgmt",
        "opc_workers",
        "bdb_workers",
    ]


# -- the wallet (spec §4) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [USD, OCEAN, "DT"])
def test_sending_more_than_the_balance_raises_and_changes_nothing(token: str) -> None:
    sender, receiver = Wallet(**{token: 10.0}), Wallet()
    with pytest.raises(WalletError, match=r"holds only 10\.0"):
        sender.transfer(token, 10.5, receiver)
    assert (sender.balance(token), receiver.balance(token)) == (10.0, 0.0)
    with pytest.raises(WalletError):
        Wallet().transfer(token, 1.0, receiver)


@pytest.mark.parametrize("token", [USD, OCEAN])
@pytest.mark.parametrize("amount", [-1.0, math.nan])
def test_negative_and_nan_amounts_raise(token: str, amount: float) -> None:
    wallet = Wallet(**{token: 5.0})
    with pytest.raises(WalletError, match="zero or more"):
        wallet.transfer(token, amount, None)
    with pytest.raises(WalletError, match="zero or more"):
        wallet.deposit(token, amount)
    with pytest.raises(WalletError, match="zero or more"):
        Wallet(**{token: amount})
    assert wallet.balance(token) == 5.0


@pytest.mark.parametrize("amount", [1.0 - 5e-13, 1.0 + 5e-13])
def test_nearly_all_usd_empties_the_sender_and_the_receiver_gets_the_amount_asked(amount: float) -> None:
    sender, receiver = Wallet(USD=1.0), Wallet(USD=2.0)
    sender.transfer(USD, amount, receiver)
    assert sender.balance(USD) == 0.0
    assert receiver.balance(USD) == 2.0 + amount


@pytest.mark.parametrize("amount", [1.0 - 5e-13, 1.0 + 5e-13])
def test_nearly_all_ocean_sends_the_whole_balance(amount: float) -> None:
    sender, receiver = Wallet(OCEAN=1.0), Wallet()
    sender.transfer(OCEAN, amount, receiver)
    assert (sender.balance(OCEAN), receiver.balance(OCEAN)) == (0.0, 1.0)


def test_the_tolerance_is_one_in_a_trillion() -> None:
    with pytest.raises(WalletError):
        Wallet(OCEAN=1.0).transfer(OCEAN, 1.0 + 2e-12, None)
    with pytest.raises(WalletError):
        Wallet(USD=1.0).transfer(USD, 1.0 + 2e-12, None)
    sender = Wallet(OCEAN=1.0)
    sender.transfer(OCEAN, 1.0 - 2e-12, None)
    assert sender.balance(OCEAN) == pytest.approx(2e-12, rel=1e-3)


def test_usd_above_the_balance_within_twelve_decimals_is_allowed() -> None:
    """AgentWallet.withdrawUSD rounds an overdraft to 12 decimals before refusing it; the receiver still gets
    the amount asked for."""
    sender, receiver = Wallet(USD=0.001), Wallet()
    sender.transfer(USD, 0.001 + 4e-13, receiver)  # 4e-10 relative: outside the tolerance, inside the rounding
    assert sender.balance(USD) == 0.0
    assert receiver.balance(USD) == 0.001 + 4e-13
    dust = Wallet(USD=1e-13)
    dust.transfer(USD, 3e-13, receiver)  # rounds to 0: nothing is taken
    assert dust.balance(USD) == 1e-13


def test_zero_amounts_and_spending() -> None:
    empty, receiver = Wallet(), Wallet()
    empty.transfer(OCEAN, 0.0, receiver)
    empty.transfer(USD, 0.0, receiver)
    assert (empty.balance(OCEAN), receiver.balance(OCEAN), receiver.balance(USD)) == (0.0, 0.0, 0.0)
    wallet = Wallet(USD=3.0, OCEAN=4.0)
    wallet.transfer(USD, 1.0, None)
    wallet.transfer(OCEAN, 4.0, None)
    assert (wallet.balance(USD), wallet.balance(OCEAN)) == (2.0, 0.0)
    wallet.deposit(OCEAN, 0.5)
    assert wallet.balance(OCEAN) == 0.5


# -- the minting schedule (spec §5.5) ---------------------------------------------------------------------------

SCHEDULE = WsloopStrategy().mint_schedule


@pytest.mark.parametrize(
    ("years", "share"),
    [
        (0.75, 0.004239672),
        (1, 0.008299596),
        (1.4, 0.029792752),
        (2, 0.101608923),
        (3, 0.205891713),
        (4, 0.405976256),
        (5, 0.552628958),
        (10, 0.879054254),
        (20, 0.985709066),
    ],
)
def test_the_schedule_matches_the_spec_reference_values(years: float, share: float) -> None:
    assert SCHEDULE(years) == pytest.approx(share, abs=5e-10)


def test_the_schedule_is_zero_before_its_start_and_stops_after_34_half_lives() -> None:
    assert SCHEDULE(0.0) == SCHEDULE(0.4999) == 0.0
    assert SCHEDULE.keep_minting(136.0) and not SCHEDULE.keep_minting(136.001)
    ramped = RampedExpSchedule(4.0, 0.0, 0.5, 1.0, 2.0, 0.1, 0.25, 0.5)
    assert ramped(0.5) > ramped(0.4999) > 0.0


# -- the engine loop (spec §2) ----------------------------------------------------------------------------------


class Counter(Agent):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.ticks: list[int] = []

    def take_step(self, state: Netlist) -> None:
        self.ticks.append(state.tick)


class Probe(Netlist):
    columns = ("steps_before",)

    def __init__(self, tick_seconds: int) -> None:
        self.counter = Counter("counter")
        super().__init__(tick_seconds, [self.counter])
        self.ends = 0

    def end_step(self) -> None:
        self.ends += 1

    def log_row(self) -> tuple[float, ...]:
        return (float(len(self.counter.ticks)),)


def test_a_run_executes_one_tick_past_the_horizon_and_logs_each_day_before_its_tick() -> None:
    probe = Probe(S_PER_HOUR)
    assert max_ticks(10 * S_PER_DAY, S_PER_HOUR) == 241.0
    rows = run(probe, max_ticks(10 * S_PER_DAY, S_PER_HOUR))
    assert probe.counter.ticks == list(range(242)) and probe.ends == 242
    assert list(rows["Tick"]) == [24.0 * day for day in range(11)]
    assert list(rows["steps_before"]) == list(rows["Tick"])  # logged before the tick's own step
    assert rows.iloc[-1][["Second", "Min", "Hour", "Day", "Month", "Year"]].tolist() == [
        864_000.0,
        14_400.0,
        240.0,
        10.0,
        10 / 30,
        10 / 365,
    ]


def test_with_daily_ticks_every_tick_is_logged_the_last_one_too() -> None:
    probe = Probe(S_PER_DAY)
    rows = run(probe, max_ticks(3 * S_PER_DAY, S_PER_DAY))
    assert probe.counter.ticks == [0, 1, 2, 3, 4]
    assert list(rows["Day"]) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_agent_names_must_be_unique() -> None:
    class Twins(Probe):
        def __init__(self) -> None:
            Netlist.__init__(self, S_PER_HOUR, [Counter("a"), Counter("a")])

    with pytest.raises(SimulationError, match="unique"):
        Twins()


@pytest.mark.parametrize("tick_seconds", [7000, 0, 3600.0])
def test_wsloop_refuses_a_tick_that_does_not_divide_a_day(tick_seconds: int) -> None:
    with pytest.raises(SimulationError, match="divide a day"):
        Wsloop(WsloopStrategy(tick_seconds=tick_seconds))


@pytest.mark.parametrize(("days", "years"), [(1, 1), (-1, None), (None, math.inf)])
def test_run_wsloop_refuses_a_bad_length(days: float | None, years: float | None) -> None:
    with pytest.raises(SimulationError):
        run_wsloop(days=days, years=years)


def test_a_daily_tick_runs_the_same_economy_coarser() -> None:
    """The first tick grows at the rate for no R&D (-11.8 %/yr), every later one at the ceiling (41.5 %/yr)."""
    daily = run_wsloop(days=60, strategy=WsloopStrategy(tick_seconds=S_PER_DAY)).set_index("Day")
    hourly = run_wsloop(days=60).set_index("Day")
    assert list(daily.index) == [float(day) for day in range(62)]  # with daily ticks the extra tick is a day too
    assert list(hourly.index) == [float(day) for day in range(61)]
    assert daily.loc[60.0, "Num_mkts"] == pytest.approx(0.882 ** (1 / 365) * 1.415 ** (59 / 365), rel=1e-12)
    assert hourly.loc[60.0, "Num_mkts"] == pytest.approx(0.882 ** (1 / 8760) * 1.415 ** (1439 / 8760), rel=1e-12)
    assert daily.loc[60.0, "dao_OCEAN/mo"] == hourly.loc[60.0, "dao_OCEAN/mo"] == 100e6 / 36  # one OPF grant


# -- the books of a year ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def year() -> tuple[Wsloop, pd.DataFrame]:
    wsloop = Wsloop()
    return wsloop, run(wsloop, max_ticks(S_PER_YEAR, S_PER_HOUR))


def test_a_year_logs_366_days_and_matches_the_spec_sanity_values(year: tuple[Wsloop, pd.DataFrame]) -> None:
    rows = year[1]
    assert list(rows["Day"]) == [float(day) for day in range(366)]
    last = rows.iloc[-1]
    spec = {
        "Num_mkts": 1.4149,
        "ocean_rev/yr": 702.5,
        "OCEAN_price": 0.23793,
        "tot_OCEAN_minted": 5.9382e6,
        "tot_OCEAN_burned": 153.47,
        "tot_OCEAN_supply": 6.9684e8,
        "RND/mo": 1.9975e6,
        "rnd_to_sales_ratio": 25_661,
        "mkts_annual_growth_rate": 0.415,
    }
    assert {column: last[column] for column in spec} == pytest.approx(spec, rel=1e-4)


def test_supply_price_and_valuations_agree(year: tuple[Wsloop, pd.DataFrame]) -> None:
    rows = year[1]
    for _, row in rows.iterrows():
        assert close(row["tot_OCEAN_supply"], 690.9e6 + row["tot_OCEAN_minted"] - row["tot_OCEAN_burned"], 1e-12)
        assert close(row["OCEAN_price"] * row["tot_OCEAN_supply"], row["overall_valuation"], 1e-12)
        assert close(row["overall_valuation"], row["fundamentals_valuation"] + row["speculation_valuation"], 1e-12)
        assert close(row["fundamentals_valuation"], 30 * row["ocean_rev/yr"], 1e-12)
        assert close(row["ps30_valuation"], row["fundamentals_valuation"], 1e-12)
        assert close(row["speculation_valuation"], 150e6 * (1 + 0.1 / 8760) ** row["Tick"], 1e-10)


def test_minted_is_the_schedule_at_the_last_mint(year: tuple[Wsloop, pd.DataFrame]) -> None:
    """Daily mints at ticks 1, 25, 49, …; their sum telescopes to the schedule's share at the last one."""
    rows = year[1]
    for tick, minted in zip(rows["Tick"].astype(int), rows["tot_OCEAN_minted"], strict=True):
        last_mint = (tick - 2) // 24 * 24 + 1 if tick >= 2 else None
        want = 0.0 if last_mint is None else TOTAL_TO_MINT * SCHEDULE(last_mint / 8760)
        assert close(minted, want, 1e-12), (tick, minted, want)
    first = rows.loc[rows["tot_OCEAN_minted"] > 0, "Tick"].iloc[0]
    assert first == 4416.0  # the first non-zero mint is at tick 4393, half a year in


def test_five_percent_of_the_network_revenue_is_burned(year: tuple[Wsloop, pd.DataFrame]) -> None:
    """The burner spends all it gets, 5 % of the toll, in the tick it gets it: the monthly burns add up to the
    totals, and the USD they cost to 5 % of the network revenue (a KPI computed from the marketplaces alone)."""
    rows = year[1].set_index("Tick")
    month_ends = [720.0 * month for month in range(1, 13)]
    assert close(sum(rows.loc[month_ends, "OCEAN_burned_USD/mo"]), 0.05 * rows.loc[8640.0, "ocean_rev/yr"], 1e-12)
    assert close(sum(rows.loc[month_ends, "OCEAN_burned/mo"]), rows.loc[8640.0, "tot_OCEAN_burned"], 1e-12)
    assert rows["tot_OCEAN_burned"].is_monotonic_increasing and rows["tot_OCEAN_burned"].iloc[1] > 0


def test_the_dao_gets_95_percent_of_the_revenue_and_its_grants_and_mints(year: tuple[Wsloop, pd.DataFrame]) -> None:
    rows = year[1]
    for _, row in rows.iterrows():
        assert close(row["dao_USD/mo"], 0.95 * row["ocean_rev/mo"], 1e-12)
    for _, row in rows[rows["Tick"].isin([720.0 * month for month in range(1, 13)])].iterrows():
        # a month of the DAO's OCEAN: one OPF grant (at the month's first tick) and the month's mints
        assert close(row["dao_OCEAN/mo"], 100e6 / 36 + row["OCEAN_minted/mo"], 1e-12)
        assert close(row["dao_total_in_USD/mo"], row["dao_USD/mo"] + row["dao_OCEAN/mo"] * row["OCEAN_price"], 1e-12)


def test_growth_is_infinite_until_a_window_ago_exists_which_includes_one_extra_second(
    year: tuple[Wsloop, pd.DataFrame],
) -> None:
    """Spec §6.2, quirk 4: the window "one month (year) ago" adds 1 second of the tick at its end."""
    rows = year[1].set_index("Tick")
    assert all(math.isinf(g) for g in rows.loc[:696.0, "ocean_rev_growth/mo"])
    assert all(math.isinf(g) for g in rows.loc[:8736.0, "ocean_rev_growth/yr"])
    # at a month (a year) the window ago is empty but for that second of tick 0, which earned at this rate:
    shrink = 0.882 ** (1 / 8760)  # the first tick's growth, at the rate for no R&D
    tick_0_rate = 20e3 / 2_592_000 * shrink * shrink * 0.002  # USD per second: revenue per market * markets * toll
    assert close(rows.loc[720.0, "ocean_rev_growth/mo"], rows.loc[720.0, "ocean_rev/mo"] / tick_0_rate - 1, 1e-9)
    assert close(rows.loc[8760.0, "ocean_rev_growth/yr"], rows.loc[8760.0, "ocean_rev/yr"] / tick_0_rate - 1, 1e-9)
    # later, the month ago is the month logged 30 days earlier and a second of its last tick's (higher) revenue
    for tick in range(1440, 8761, 24):
        growth = rows.loc[float(tick), "ocean_rev_growth/mo"]
        ratio = rows.loc[float(tick), "ocean_rev/mo"] / rows.loc[tick - 720.0, "ocean_rev/mo"]
        assert 1 / 2_592_000 < (ratio - (1 + growth)) / ratio < 1.05 / 2_592_000, tick


def test_every_flow_completes_within_its_tick(year: tuple[Wsloop, pd.DataFrame]) -> None:
    """In golden order routers, the burner and the workers end every tick empty; treasuries paid 13 grants."""
    wsloop = year[0]
    for name in ("opc_address", "opc_burner", "ocean_dao", "opf_mgmt", "bdb_mgmt", "opc_workers", "bdb_workers"):
        wallet = wsloop.agent(name).wallet
        assert (wallet.balance(USD), wallet.balance(OCEAN)) == (0.0, 0.0), name
    ocean_dao_treasury = wsloop.agent("opf_treasury_for_ocean_dao").wallet
    assert close(ocean_dao_treasury.balance(OCEAN), 100e6 * 23 / 36, 1e-12)
    assert close(wsloop.agent("bdb_treasury").wallet.balance(USD), 2e6 * 4 / 17, 1e-12)


def test_ten_years_match_the_spec_sanity_values() -> None:
    last = run_wsloop(years=10).iloc[-1]
    spec = {
        "Num_mkts": 32.177,
        "ocean_rev/yr": 363_297,
        "OCEAN_price": 0.31647,
        "tot_OCEAN_minted": 6.3207e8,
        "tot_OCEAN_burned": 129_147,
        "tot_OCEAN_supply": 1.32284e9,
        "RND/mo": 5.9241e5,
        "rnd_to_sales_ratio": 14.716,
        "mkts_annual_growth_rate": 0.41499998,
    }
    assert last["Day"] == 3650.0
    assert {column: last[column] for column in spec} == pytest.approx(spec, rel=1e-4)
