"""The uncontrollable agents of an Ocean Market data asset (TokenSPICE V4.1's DataconsumerAgent, StakerAgent and
SpeculatorAgent, plus the IDO's buyers), as one plugin whose methods are the scenario's daily players.

- consumers: a Poisson number a day, each valuing a consume at the consume value times U(0.5, 1.5); one buys a DT
  from the pool when its price is at most that, and spends it (the DT goes to the publisher);
- stakers: during the first `stake_days`, a Poisson number a day, each staking U(0.1, 1) x `stake_max` OCEAN (through
  the staking bot when there is one, else a single-asset join of OCEAN), and leaving after U(0.5, 1.5) x `hold` days
  (a proportional exit; the DT part is sold back to the pool);
- IDO buyers: during the first `hype_days`, a Poisson number a day, each valuing the DT at the consume value times
  U(1, `hype_max`) with a budget of U(0.1, 1) x `budget_max` OCEAN: they buy from a publisher-run auction while it is
  open and its price is at most their value, else from the pool while its price is; they sell once the price is
  half again what they paid, or after U(7, 30) days;
- speculators: momentum traders: each day, with probability `spec_rate`, one buys U(0.1, 1) x `budget_max` OCEAN of
  DT if the price rose over three days by more than 5 % plus a round trip's fees, or sells half the speculators' DT if
  it fell by as much.

No agent trades the pool while a publisher-run auction is open (the pool opens after it). Every draw is from the
run's generator, so a seed is one history of the agents. State `v`, the KPIs: `price` (OCEAN per DT), `top_paid` (the
highest price per DT an agent paid in a buy during the IDO's days), `stake_swing` (the largest relative price move
one stake caused), `staked`, `withdrawn` and `stakers_value` (OCEAN: what stakers
put in, took out, and hold at the pool's price), `others_in` (OCEAN everyone but the publisher put in: stakes, buys
and consumes), `buyers_value` and `buyers_pnl` (the IDO buyers' and speculators' DT at the pool's price, plus what
they took out, less what they paid).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from simcore.errors import PluginError
from simcore.plugins.base import Plugin, PluginSpec, state_var
from simcore.plugins.ocean import Datatoken, DutchAuctionPlugin, PoolView, SideStaking, datatoken_of, pool_of
from simcore.variables import Variable

IDO_DAYS = 14  # the days `top_paid` watches
PARAMS = ("consumes", "stake_rate", "stake_days", "stake_max", "hold", "hype_rate", "hype_days", "hype_max",
          "budget_max", "spec_rate")  # fmt: skip
MOMENTUM = 0.05  # a speculator trades on a three-day move larger than this
CHUNKS = 5  # a buyer limited by a price buys in this many parts, checking the price before each
MAX_PART = 0.45  # of a pool balance a trade puts in: under Balancer's MAX_IN_RATIO of a half


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method, fine for the small means here)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Community(Plugin):
    """The agents and their KPIs (see the module doc)."""

    def __init__(
        self, key: str, dt: Datatoken, pool: PoolView, staking: SideStaking | None, auction: DutchAuctionPlugin | None,
        rng: random.Random, params: Mapping[str, float],
    ) -> None:  # fmt: skip
        super().__init__(key)
        self.dt, self.pool, self.staking, self.auction, self.rng = dt, pool, staking, auction, rng
        self.p = dict(params)
        self.stakes: list[list[Any]] = []  # [owner, shares, leave day]
        self.lots: list[list[float]] = []  # IDO buyers' [dt, paid, sell day]
        self.spec_dt = 0.0
        self.stakers_dt = 0.0  # DT stakers got back on leaving and the pool has not taken yet
        self.prices = [pool.price]
        self.day = 0
        self.v = {"price": pool.price, "top_paid": 0.0, "stake_swing": 0.0, "staked": 0.0, "withdrawn": 0.0,
                  "stakers_value": 0.0, "others_in": 0.0, "bought": 0.0, "sold": 0.0, "buyers_value": 0.0,
                  "buyers_pnl": 0.0}  # fmt: skip

    # -- the pool, as the agents use it --------------------------------------------------------------------------
    def _paid(self, dt: float, ocean: float) -> None:
        """Note a buy of `dt` DT for `ocean` OCEAN: its price counts for `top_paid` in the IDO's days."""
        if dt > 0 and self.day <= IDO_DAYS:
            self.v["top_paid"] = max(self.v["top_paid"], ocean / dt)

    def _closed(self) -> bool:
        auction = self.auction
        return auction is not None and not auction.by_pool and bool(auction.v["open"])

    def _buy(self, ocean: float) -> float:
        """Spend `ocean` on DT in the pool; the DT bought (0 if the pool refuses)."""
        try:
            got = self.pool.pool.swap_in("B", ocean)
        except PluginError:
            return 0.0
        self._paid(got, ocean)
        return got

    def _sell(self, dt: float) -> tuple[float, float]:
        """Sell up to `dt` DT to the pool, in parts it takes (Balancer lets in at most half its DT at once): (DT
        sold, OCEAN received); what the pool will not take is left to sell another day."""
        sold = received = 0.0
        for _ in range(CHUNKS):
            part = min(dt - sold, self.pool.dt * MAX_PART)
            if part <= 0:
                break
            try:
                received += self.pool.pool.swap_in("A", part)
            except PluginError:
                break
            sold += part
        return sold, received

    def _buy_below(self, budget: float, limit: float) -> tuple[float, float]:
        """Buy DT with up to `budget` OCEAN while the pool's price is at most `limit`, in parts the pool takes: (DT,
        OCEAN paid)."""
        got = paid = 0.0
        for _ in range(CHUNKS):
            if self.pool.price * (1 + self.pool.fee) > limit:
                break
            part = min(budget / CHUNKS, self.pool.ocean * MAX_PART)
            dt = self._buy(part)
            if dt <= 0:
                break
            got, paid = got + dt, paid + part
        return got, paid

    # -- the players ----------------------------------------------------------------------------------------------
    def consumers(self, day: int) -> None:
        """Each consumer buys one DT if the pool asks at most what it values a consume at, and spends it (the first
        player of a day: it notes the day for the others)."""
        self.day = day
        rng, value = self.rng, self.dt.consume_value
        for _ in range(poisson(rng, self.p["consumes"])):
            wtp = value * rng.uniform(0.5, 1.5)
            if self._closed():
                whole = self.auction is not None and self.auction.v["left"] >= 1.0  # a consume takes a whole DT
                got, paid = self.auction.buy(1.0, wtp) if whole else (0.0, 0.0)
            elif self.pool.price * (1 + self.pool.fee) <= wtp:
                try:
                    got, paid = 1.0, self.pool.pool.swap_out("A", 1.0)
                except PluginError:
                    got = paid = 0.0
            else:
                got = paid = 0.0
            if got:
                self._paid(got, paid)
                self.dt.consume(paid)
                self.v["others_in"] += paid

    def stakers(self, day: int) -> None:
        """New stakers stake; stakers whose time is up leave."""
        rng, p, v = self.rng, self.p, self.v
        if day <= p["stake_days"] and not self._closed():
            for _ in range(poisson(rng, p["stake_rate"])):
                ocean = p["stake_max"] * rng.uniform(0.1, 1.0)
                owner = f"staker{len(self.stakes)}"
                before = self.pool.price
                shares, paid = self._stake(owner, ocean)
                if shares > 0:
                    v["stake_swing"] = max(v["stake_swing"], abs(self.pool.price / before - 1))
                    v["staked"] += paid
                    v["others_in"] += paid
                    self.stakes.append([owner, shares, day + p["hold"] * rng.uniform(0.5, 1.5)])
        for stake in [s for s in self.stakes if s[2] <= day]:
            ocean = self._unstake(stake[0], stake[1])
            if ocean is not None:  # else the pool will not let it go yet (its last shares): it tries again
                v["withdrawn"] += ocean
                self.stakes.remove(stake)
        if self.stakers_dt > 0:
            sold, received = self._sell(self.stakers_dt)
            self.stakers_dt -= sold
            v["withdrawn"] += received

    def _stake(self, owner: str, ocean: float) -> tuple[float, float]:
        """Stake `ocean` for `owner`: (its shares, the OCEAN it paid); (0, 0) if the stake cannot be made."""
        if self.staking is not None:
            return self.staking.stake(owner, ocean)
        try:
            return self.pool.pool.join(owner, "B", ocean), ocean
        except PluginError:  # more than Balancer lets in at once
            return 0.0, 0.0

    def _unstake(self, owner: str, shares: float) -> float | None:
        """Exit `owner`'s stake: the OCEAN it gets now (its DT part is sold as the pool takes it), or None if the
        pool will not let the shares go (the last of its supply)."""
        try:
            if self.staking is not None:
                return self.staking.unstake(owner, shares)
            dt, ocean = self.pool.pool.exit_all(owner, shares)
        except PluginError:
            return None
        self.stakers_dt += dt
        return ocean

    def ido_buyers(self, day: int) -> None:
        """New IDO buyers buy; holders whose target or time is reached sell."""
        rng, p, v = self.rng, self.p, self.v
        if day <= p["hype_days"]:
            for _ in range(poisson(rng, p["hype_rate"])):
                value = self.dt.consume_value * rng.uniform(1.0, p["hype_max"])
                budget = p["budget_max"] * rng.uniform(0.1, 1.0)
                if self._closed() and self.auction is not None:
                    got, paid = self.auction.buy(budget / self.auction.v["price"], value)
                    self._paid(got, paid)
                else:
                    got, paid = self._buy_below(budget, value)
                if got > 0:
                    v["bought"] += paid
                    v["others_in"] += paid
                    self.lots.append([got, paid, day + rng.uniform(7, 30)])
        if self._closed():
            return
        for lot in [lot for lot in self.lots if lot[2] <= day or self.pool.price * lot[0] >= 1.5 * lot[1]]:
            sold, received = self._sell(lot[0])
            v["sold"] += received
            lot[0] -= sold
            if lot[0] <= 0:
                self.lots.remove(lot)

    def speculators(self, day: int) -> None:
        """A momentum trade, some days."""
        rng, v = self.rng, self.v
        if self._closed() or rng.random() >= self.p["spec_rate"] or len(self.prices) < 4:
            return
        move = self.prices[-1] / self.prices[-4] - 1
        budget = self.p["budget_max"] * rng.uniform(0.1, 1.0)
        hurdle = MOMENTUM + 2 * self.pool.fee
        if move > hurdle:
            got = self._buy(budget)
            if got > 0:
                self.spec_dt += got
                v["bought"] += budget
                v["others_in"] += budget
        elif move < -hurdle and self.spec_dt > 0:
            sold, received = self._sell(self.spec_dt / 2)
            self.spec_dt -= sold
            v["sold"] += received

    def end_day(self, day: int) -> None:
        pool, v = self.pool, self.v
        price = pool.price
        self.prices.append(price)
        per_share = pool.value / pool.supply
        v["price"] = price
        v["stakers_value"] = sum(stake[1] for stake in self.stakes) * per_share
        v["buyers_value"] = (self.spec_dt + sum(lot[0] for lot in self.lots)) * price
        v["buyers_pnl"] = v["buyers_value"] + v["sold"] - v["bought"]


class CommunitySpec(PluginSpec):
    """Options: the agents' parameters (`PARAMS`, see the module doc), `dt`, `pool`, `staking` and `auction` (keys;
    the last two are used when the scenario has them)."""

    kind = "ocean_community"

    def variables(self, key: str) -> dict[str, Variable]:
        fields = {"price": ("DT Price", "OCEAN"), "top_paid": ("Highest Price Paid in the IDO", "OCEAN"),
                  "stake_swing": ("Largest Price Move of One Stake", None),
                  "staked": ("OCEAN Staked", "OCEAN"), "withdrawn": ("OCEAN Unstaked", "OCEAN"),
                  "stakers_value": ("Stakers' Holdings", "OCEAN"), "others_in": ("OCEAN Others Put In", "OCEAN"),
                  "buyers_pnl": ("Buyers' Profit", "OCEAN")}  # fmt: skip
        return {f"{key}_{p}": Variable(f"Agents {p}", self.option(p)) for p in PARAMS} | {
            f"{key}_{name}": state_var(key, name, title, **({"type": unit} if unit else {}))
            for name, (title, unit) in fields.items()
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        staking = plugins.get(self.option("staking", "staking"))
        auction = plugins.get(self.option("auction", "auction"))
        return Community(
            key, datatoken_of(self.kind, key, self, plugins), pool_of(self.kind, key, self, plugins),
            staking if isinstance(staking, SideStaking) else None,
            auction if isinstance(auction, DutchAuctionPlugin) else None,
            rng, {p: v[f"{key}_{p}"] for p in PARAMS},
        )  # fmt: skip
