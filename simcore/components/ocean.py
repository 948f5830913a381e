"""Ocean Market's data-asset mechanisms as components: the datatoken, one-sided staking, liquidity bootstrapping, a
Dutch auction (run by the publisher or by the pool), a vested premine and a soft cap on the volume:consume ratio.

Each is one row of the Ocean Market V4.1 design iterations (Token Engineering Academy slides, May 2021): Ocean V3 is
the datatoken alone with a publisher-run pool; each V4.1 variant is the datatoken plus a set of these. Each runs as
a plugin of `simcore.plugins.ocean` under its key, linked by key to the datatoken (`dt`) and the pool (`pool`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from simcore.components.base import Component
from simcore.components.vesting import Vesting
from simcore.plugins import ocean, ocean_agents  # the runtimes, registered as plugin kinds

DtKey = Annotated[str, Field(description="Key of the scenario's datatoken.")]
PoolKey = Annotated[str, Field(description="Key of the scenario's DT/OCEAN weighted pool.")]


def _linked(component: Component, kind: str, *params: str) -> dict[str, Any]:
    """The plugin of a mechanism that acts on the scenario's datatoken and pool, with its parameters as options."""
    links = {"dt": component.dt, "pool": getattr(component, "pool", None)}  # type: ignore[attr-defined]
    options = {name: getattr(component, name) for name in params}
    return {"type": kind, **{k: x for k, x in links.items() if x is not None}, **options}


class Datatoken(Component):
    """An Ocean datatoken (DT): one DT buys one consume of a data service, paid to its publisher. `minter` says who
    may mint up to the `cap`: the publisher at will (Ocean V3, so nothing stops it minting and selling more), or only
    the protocol's staking bot (V4.1). Consumers value a consume at `consume_value` OCEAN on average."""

    kind = "datatoken"
    version = 1
    kpis = ("initial_price",)
    depends_on = (ocean,)

    cap: float = Field(
        10_000.0, ge=1.0, le=1e9, description="Most DT that can ever exist.", json_schema_extra={"unit": "DT"}
    )
    minter: Literal["publisher", "bot"] = Field("publisher", description="Who may mint DT: the publisher or the bot.")
    consume_value: float = Field(
        10.0, gt=0.0, le=1e6, description="What a consumer pays for a consume, on average.",
        json_schema_extra={"unit": "OCEAN"},
    )  # fmt: skip

    @property
    def initial_price(self) -> float:
        """The consume value: the price a publisher would list the DT at."""
        return self.consume_value

    def plugin(self, key: str) -> dict[str, Any]:
        return {"type": "datatoken", "cap": self.cap, "minter": self.minter, "consume_value": self.consume_value}


class OneSidedStaking(Component):
    """One-sided staking (1SS): a protocol bot holds `reserve` DT minted at publish. A staker adds OCEAN alone and
    the bot adds the DT that keeps the pool's price where it was (a proportional join), so staking does not move the
    price; on unstaking the staker takes OCEAN and the bot takes its DT back."""

    kind = "one_sided_staking"
    version = 1
    depends_on = (ocean,)
    kpis = ("matched",)

    dt: DtKey = "dt"
    pool: PoolKey = "pool"
    reserve: float = Field(
        9_000.0, ge=0.0, le=1e9, description="DT the bot holds to match stakes.", json_schema_extra={"unit": "DT"}
    )

    def matched(self, ocean: float, ocean_balance: float, dt_balance: float) -> float:
        """The DT the bot adds beside `ocean` staked into a pool holding these balances: the pool's own ratio."""
        return ocean * dt_balance / ocean_balance

    def plugin(self, key: str) -> dict[str, Any]:
        return _linked(self, "side_staking", "reserve")


class LiquidityBootstrapping(Component):
    """A liquidity bootstrapping pool (LB): the pool's DT weight moves linearly from `start_weight` to `end_weight`
    over `days`, so with no trades the DT price falls (Balancer's LBP), and early buyers pay for being early."""

    kind = "liquidity_bootstrapping"
    version = 1
    depends_on = (ocean,)
    kpis = ("weight", "price_drop")

    dt: DtKey = "dt"
    pool: PoolKey = "pool"
    start_weight: float = Field(0.9, ge=0.02, le=0.98, description="The DT's pool weight on day 0.")
    end_weight: float = Field(0.3, ge=0.02, le=0.98, description="The DT's pool weight from `days` on.")
    days: float = Field(14.0, gt=0.0, le=365.0, description="Days the weights take to move.")

    def weight(self, day: float) -> float:
        """The DT's weight on `day`."""
        return ocean.schedule(self.start_weight, self.end_weight, self.days, day)

    @property
    def price_drop(self) -> float:
        """How many times the DT price falls over the schedule if nobody trades: the odds of the weights' ratio."""
        start, end = self.start_weight, self.end_weight
        return (start / (1 - start)) / (end / (1 - end))

    def plugin(self, key: str) -> dict[str, Any]:
        return _linked(self, "weight_schedule", "start_weight", "end_weight", "days")


class DutchAuction(Component):
    """A Dutch auction of the IDO: the price starts at `start` times the consume value and falls geometrically to
    `floor` times it over `days`. Run by the publisher (`run_by="publisher"`), it sells `tranche` DT minted for it
    and pays the proceeds to the publisher; the staking bot then moves the pool to the last price it sold at. Run by
    the pool (`run_by="pool"`), the staking bot adds DT to the pool whenever its price is above the auction's, so
    buyers buy from the pool and the proceeds stay in it."""

    kind = "dutch_auction"
    version = 1
    depends_on = (ocean,)
    kpis = ("price",)

    dt: DtKey = "dt"
    pool: PoolKey = "pool"
    run_by: Literal["publisher", "pool"] = Field("publisher", description="Who runs the auction and takes proceeds.")
    start: float = Field(3.0, ge=0.01, le=1e3, description="Start price, in consume values.")
    floor: float = Field(0.3, ge=0.001, le=1e3, description="Last price, in consume values.")
    days: float = Field(7.0, ge=1.0, le=365.0, description="Days the price takes to fall from start to floor.")
    tranche: float = Field(
        1_000.0, ge=0.0, le=1e9, description="DT sold by a publisher-run auction.", json_schema_extra={"unit": "DT"}
    )

    def price(self, day: float) -> float:
        """The auction's price on `day`, in consume values: geometric from `start` on day 0 to `floor` on `days`."""
        return ocean.auction_price(self.start, self.floor, self.days, day)

    def plugin(self, key: str) -> dict[str, Any]:
        return _linked(self, "dutch_auction", "run_by", "start", "floor", "days", "tranche")


class VestedPremine(Vesting):
    """A premine for the publisher: `total` DT minted to it linearly over `duration` days from `start` (after a
    `cliff`), so it is paid for publishing without being able to dump a large stash at the IDO."""

    kind = "vested_premine"
    version = 1
    depends_on = (ocean,)

    dt: DtKey = "dt"
    total: float = Field(1_000.0, ge=0.0, le=1e9, description="DT vested in all.", json_schema_extra={"unit": "DT"})
    start: float = Field(0.0, ge=0.0, le=1e4, description="Day vesting begins.")
    cliff: float = Field(0.0, ge=0.0, le=1e4, description="Days after `start` before anything is vested.")
    duration: float = Field(365.0, gt=0.0, le=1e4, description="Days after `start` when everything is vested.")

    def plugin(self, key: str) -> dict[str, Any]:
        return _linked(self, "premine", "total", "start", "cliff", "duration")


class VolumeCap(Component):
    """A soft cap on the ratio of swap volume to consume volume: over the last `window` days, while the pool's swap
    volume (OCEAN) is at most `ratio` times what consumers paid, the swap fee is `base_fee`; above, the fee rises
    linearly with the excess up to `max_fee` at twice the ratio, taxing trading that no consumption backs."""

    kind = "volume_cap"
    version = 1
    depends_on = (ocean,)
    kpis = ("fee",)

    dt: DtKey = "dt"
    pool: PoolKey = "pool"
    ratio: float = Field(10.0, gt=0.0, le=1e4, description="Swap volume allowed per OCEAN of consume volume.")
    window: float = Field(7.0, ge=1.0, le=365.0, description="Days the volumes are summed over.")
    base_fee: float = Field(0.001, ge=0.0, le=0.1, description="Swap fee under the cap.")
    max_fee: float = Field(0.1, ge=0.0, le=0.1, description="Swap fee at twice the cap and above.")

    def fee(self, swapped: float, consumed: float) -> float:
        """The swap fee for `swapped` OCEAN of swap volume against `consumed` OCEAN of consume volume."""
        return ocean.capped_fee(self.ratio, self.base_fee, self.max_fee, swapped, consumed)

    def plugin(self, key: str) -> dict[str, Any]:
        return _linked(self, "volume_cap", "ratio", "window", "base_fee", "max_fee")


OCEAN_MECHANISMS = (OneSidedStaking, LiquidityBootstrapping, DutchAuction, VestedPremine, VolumeCap)


class OceanAgents(Component):
    """The uncontrollable agents of a data asset (`simcore.plugins.ocean_agents`): consumers, stakers, IDO buyers and
    momentum speculators, their arrival rates (a Poisson mean a day) and sizes; every draw is from the run's seed."""

    kind = "ocean_agents"
    version = 1
    depends_on = (ocean_agents,)
    kpis = ("ido_demand",)

    dt: DtKey = "dt"
    pool: PoolKey = "pool"
    consumes: float = Field(4.0, ge=0.0, le=1e3, description="Consumes a day, on average.")
    stake_rate: float = Field(0.6, ge=0.0, le=1e2, description="New stakers a day, on average.")
    stake_days: float = Field(30.0, ge=0.0, le=3650.0, description="Days new stakers keep coming.")
    stake_max: float = Field(
        2_000.0, gt=0.0, le=1e9, description="The largest stake.", json_schema_extra={"unit": "OCEAN"}
    )
    hold: float = Field(45.0, gt=0.0, le=3650.0, description="Days a staker stays, on average.")
    hype_rate: float = Field(3.0, ge=0.0, le=1e2, description="New IDO buyers a day, on average.")
    hype_days: float = Field(7.0, ge=0.0, le=365.0, description="Days IDO buyers keep coming.")
    hype_max: float = Field(4.0, ge=1.0, le=1e3, description="The highest IDO value, in consume values.")
    budget_max: float = Field(
        1_000.0, gt=0.0, le=1e9, description="The largest buyer's budget.", json_schema_extra={"unit": "OCEAN"}
    )
    spec_rate: float = Field(0.5, ge=0.0, le=1.0, description="Chance a day that a speculator trades.")

    @property
    def ido_demand(self) -> float:
        """OCEAN the IDO buyers bring on average: rate x days x mean budget."""
        return self.hype_rate * self.hype_days * self.budget_max * 0.55

    def plugin(self, key: str) -> dict[str, Any]:
        return _linked(self, "ocean_community", *ocean_agents.PARAMS)
