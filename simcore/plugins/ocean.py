"""Ocean Market's data-asset life cycle as plugins: the datatoken and its publisher's account, and the V4.1
mechanisms (one-sided staking, a liquidity bootstrapping schedule, a Dutch auction, a vested premine, a soft cap on
the volume:consume ratio), each acting on the scenario's DT/OCEAN weighted pool (`simcore.plugins.weighted`).

The life cycle (the slides' mental model): the publisher publishes a datatoken (DT) and a pool; an IDO puts the
first DT in many hands (straight into the pool in V3, by a schedule or an auction in V4.1); then the DT trades in
equilibrium, consumers buying one DT per consume, which goes to the publisher. The publisher is the slot's seat: its
account with the datatoken (`PublisherMarket`, a custody market) pays it the DT consumers spend and what the
mechanisms owe it (a premine as it vests, a publisher-run auction's proceeds), and lets it mint while the datatoken
allows its publisher to (V3). Everyone else, the protocol's staking bot included, trades the pool through the
plugins' methods.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

from simcore.errors import PluginError
from simcore.markets import Action, Market, Quote, RefusedError, Reserves
from simcore.plugins.base import Plugin, PluginSpec, check_amount, state_var
from simcore.variables import Variable

OCEAN = "OCEAN"
BOT = "bot"  # the staking bot's account in the pool


class PoolView:
    """The DT/OCEAN pool as the mechanisms use it: DT is the pool's token A, OCEAN its token B."""

    def __init__(self, pool: Plugin) -> None:
        self.pool: Any = pool

    @property
    def dt(self) -> float:
        return self.pool.v["ba"]

    @property
    def ocean(self) -> float:
        return self.pool.v["bb"]

    @property
    def weight(self) -> float:
        """The DT's normalised weight."""
        return self.pool.v["wa"]

    @property
    def supply(self) -> float:
        return self.pool.v["supply"]

    @property
    def fee(self) -> float:
        return self.pool.v["fee"]

    @property
    def price(self) -> float:
        """OCEAN per DT at the margin, fee aside: (B_ocean / w_ocean) / (B_dt / w_dt)."""
        return self.pool.v["pa"]

    @property
    def value(self) -> float:
        """The whole pool's worth in OCEAN at its own price: B_ocean / w_ocean."""
        return self.ocean / (1 - self.weight)


def schedule(start: float, end: float, days: float, day: float) -> float:
    """A value moving linearly from `start` on day 0 to `end` on `days` (an LB's weight)."""
    return start + (end - start) * min(max(day / days, 0.0), 1.0)


def auction_price(start: float, floor: float, days: float, day: float) -> float:
    """A Dutch auction's price on `day`: geometric from `start` on day 0 to `floor` on `days`."""
    return start * (floor / start) ** min(max(day / days, 0.0), 1.0)


def vested(total: float, start: float, cliff: float, duration: float, t: float) -> float:
    """What a cliff + linear vesting has vested by `t` (`simcore.components.Vesting`'s rule)."""
    elapsed = t - start
    if elapsed < cliff:
        return 0.0
    return total if elapsed >= duration else total * elapsed / duration


def capped_fee(ratio: float, base_fee: float, max_fee: float, swapped: float, consumed: float) -> float:
    """The soft cap's swap fee: `base_fee` while `swapped` <= `ratio` x `consumed`, rising linearly with the excess
    to `max_fee` at twice the ratio (and with no consumption at all)."""
    if swapped <= ratio * consumed:
        return base_fee
    excess = 1.0 if consumed <= 0 else min(swapped / (ratio * consumed) - 1.0, 1.0)
    return base_fee + (max_fee - base_fee) * excess


def linked(kind: str, key: str, plugins: Mapping[str, Plugin], link: str, expected: type) -> Any:
    """The plugin `link` names, checked to be of the expected class (built before `key`)."""
    found = plugins.get(link)
    if not isinstance(found, expected):
        have = "nothing" if found is None else f"a {type(found).__name__}"
        raise PluginError(f"{kind} {key!r}: {link!r} must be an earlier {expected.__name__} plugin, got {have}")
    return found


def pool_of(kind: str, key: str, spec: PluginSpec, plugins: Mapping[str, Plugin]) -> PoolView:
    from simcore.plugins.weighted import WeightedPool

    return PoolView(linked(kind, key, plugins, spec.option("pool", "pool"), WeightedPool))


def datatoken_of(kind: str, key: str, spec: PluginSpec, plugins: Mapping[str, Plugin]) -> Datatoken:
    return linked(kind, key, plugins, spec.option("dt", "dt"), Datatoken)


class Datatoken(Plugin):
    """The datatoken and its publisher's account. State `v`: `supply`, `cap`, `consumed` (consumes so far),
    `consume_paid` (OCEAN consumers paid the pool for them), `owed_dt` and `owed_ocean` (what the publisher has
    not collected yet), `mintable` (what the publisher may still mint: up to the cap in V3, none in V4.1)."""

    def __init__(self, key: str, cap: float, minter: str, consume_value: float, supply: float) -> None:
        super().__init__(key)
        if minter not in ("publisher", "bot"):
            raise PluginError(f"{key}: minter must be 'publisher' or 'bot', got {minter!r}")
        if supply > cap:
            raise PluginError(f"{key}: the pool's {supply} DT are past the cap of {cap}")
        self.publisher_mints = minter == "publisher"
        self.consume_value = consume_value
        self.v = {"supply": supply, "cap": cap, "consumed": 0, "consume_paid": 0.0, "owed_dt": 0.0,
                  "owed_ocean": 0.0, "mintable": 0.0}  # fmt: skip
        self._reprice()

    def mintable(self, supply: float) -> float:
        """What the publisher may still mint at this supply."""
        return max(self.v["cap"] - supply, 0.0) if self.publisher_mints else 0.0

    def _reprice(self) -> None:
        self.v["mintable"] = self.mintable(self.v["supply"])

    def issue(self, amount: float, what: str) -> float:
        """Mint `amount` DT for a mechanism (the bot's reserve, an auction's tranche, a premine); past the cap, a
        PluginError naming `what`."""
        v = self.v
        if v["supply"] + amount > v["cap"] * (1 + 1e-12):
            raise PluginError(f"{self.key}: {what} needs {amount} DT, past the cap ({v['cap']}, {v['supply']} minted)")
        v["supply"] += amount
        self._reprice()
        return amount

    def burn(self, amount: float) -> None:
        """Burn `amount` DT a mechanism holds and no longer needs."""
        self.v["supply"] -= amount
        self._reprice()

    def consume(self, paid: float) -> None:
        """A consumer spends one DT it bought for `paid` OCEAN: the DT goes to the publisher."""
        v = self.v
        v["consumed"] += 1
        v["consume_paid"] += paid
        v["owed_dt"] += 1.0

    def credit(self, dt: float = 0.0, ocean: float = 0.0) -> None:
        """Owe the publisher `dt` and `ocean` (a premine vesting, an auction's proceeds), paid at its next turn."""
        self.v["owed_dt"] += dt
        self.v["owed_ocean"] += ocean


class PublisherMarket(Market):
    """The publisher's account with its datatoken, a custody market: it holds for the seat what it may mint and
    what it is owed, pays what it is owed at each turn and mints on request while the datatoken lets it."""

    plugin: Datatoken
    swap = False
    actions: ClassVar[Mapping[str, Action]] = {
        "mint": Action(
            ("amount",),
            "mint `amount` new {a} into your wallet, if the datatoken lets its publisher mint (`v['mintable']` is "
            "what is left under its cap); returns it.",
        )
    }
    summary = (
        "your datatoken {a}, as its publisher: each consume sends you the {a} the consumer spent, and what the "
        "mechanisms owe you ({a} of a vested premine, {b} of an auction you run) is paid into your wallet at each "
        "turn. Its state `v`: `supply`, `cap`, `mintable` (what you may still mint: 0 unless the publisher mints), "
        "`consumed` (consumes so far) and `consume_paid` ({b} consumers paid for them)."
    )

    def reserves(self) -> Reserves:
        v = self.plugin.v
        return v["mintable"] + v["owed_dt"], v["owed_ocean"]

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        amount = args[0]
        token, v = self.plugin, self.plugin.v
        if not token.publisher_mints:
            raise RefusedError("the publisher cannot mint: only the staking bot mints this datatoken")
        supply = v["supply"] + amount
        if supply > v["cap"]:
            raise RefusedError(f"it mints past the cap ({v['mintable']} left)")
        return Quote((token.mintable(supply) + v["owed_dt"], v["owed_ocean"]), ("mint", supply), amount)

    def commit(self, quote: Quote) -> None:
        token, v = self.plugin, self.plugin.v
        if quote.state[0] == "mint":
            v["supply"] = quote.state[1]
            token._reprice()
        else:
            v["owed_dt"] = v["owed_ocean"] = 0.0

    def collect(self) -> Quote | None:
        v = self.plugin.v
        if not (v["owed_dt"] or v["owed_ocean"]):
            return None
        return Quote((v["mintable"], 0.0), ("collect",), 0.0)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        return None  # the pool prices the DT

    @classmethod
    def units(cls, action: str, tickers: tuple[str, ...]) -> tuple[str, str | None]:
        return tickers[0], tickers[0]

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"label": f"{tickers[0]} supply", "key": f"{key}.supply"}]


class DatatokenSpec(PluginSpec):
    """Options: `cap`, `minter` ("publisher" or "bot"), `consume_value` (OCEAN), `pool` (key of the earlier DT/OCEAN
    pool, whose DT are the first minted), `ticker` (default "DT")."""

    kind = "datatoken"
    market = PublisherMarket

    def tickers(self) -> tuple[str, str]:
        return str(self.option("ticker", "DT")).upper(), OCEAN

    def variables(self, key: str) -> dict[str, Variable]:
        return {
            f"{key}_cap": Variable("Datatoken Cap", self.option("cap"), display={"type": "DT"}),
            f"{key}_consume_value": Variable("Consume Value", self.option("consume_value"), display={"type": OCEAN}),
            f"{key}_supply": state_var(key, "supply", "Datatoken Supply", type="DT"),
            f"{key}_consumed": state_var(key, "consumed", "Consumes"),
            f"{key}_consume_paid": state_var(key, "consume_paid", "OCEAN Paid for Consumes", type=OCEAN),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        pool = pool_of(self.kind, key, self, plugins)
        return Datatoken(key, v[f"{key}_cap"], self.option("minter"), v[f"{key}_consume_value"], pool.dt)


class SideStaking(Plugin):
    """One-sided staking: the bot's DT `reserve` outside the pool; a stake is a proportional join whose OCEAN the
    staker pays and whose DT the bot pays, shared by value (the staker's part is the OCEAN weight's), so the price
    does not move. State `v`: `reserve`, `staked` (OCEAN staked through the bot), `bot_shares`."""

    def __init__(self, key: str, dt: Datatoken, pool: PoolView, reserve: float) -> None:
        super().__init__(key)
        self.pool = pool
        # the bot seeded the pool's DT when it is the minter: the DT weight's part of the first shares is its own
        seeded = 0.0 if dt.publisher_mints else pool.supply * pool.weight
        self.v = {"reserve": dt.issue(reserve, f"{key}'s reserve"), "staked": 0.0, "bot_shares": seeded}

    def stake(self, owner: str, ocean: float) -> tuple[float, float]:
        """Stake about `ocean` for `owner` with the bot's matching DT: (the owner's pool shares, the OCEAN it paid:
        the pool's share of its balance, rounded up); (0, 0) if the bot's reserve cannot match it."""
        check_amount(ocean, f"{self.key}.stake")
        pool = self.pool
        shares = pool.supply * ocean / pool.ocean
        if pool.dt * shares / pool.supply > self.v["reserve"]:
            return 0.0, 0.0
        mine = shares * (1 - pool.weight)
        held, bot = pool.pool.shares_of(owner), pool.pool.shares_of(BOT)
        dt_in, ocean_in = pool.pool.join_all(BOT, shares - mine)
        dt_in2, ocean_in2 = pool.pool.join_all(owner, mine)
        self.v["reserve"] -= dt_in + dt_in2
        self.v["bot_shares"] += pool.pool.shares_of(BOT) - bot
        self.v["staked"] += ocean_in + ocean_in2
        return pool.pool.shares_of(owner) - held, ocean_in + ocean_in2

    def unstake(self, owner: str, shares: float) -> float:
        """Exit `owner`'s `shares` and the bot's matching part; returns the OCEAN the owner receives (the bot takes
        the DT back into its reserve)."""
        pool = self.pool
        matching = min(shares * pool.weight / (1 - pool.weight), self.v["bot_shares"])
        dt_out, ocean_out = pool.pool.exit_all(owner, shares)
        dt_back, ocean_back = pool.pool.exit_all(BOT, matching) if matching > 0 else (0.0, 0.0)
        self.v["bot_shares"] -= matching
        self.v["reserve"] += dt_out + dt_back
        return ocean_out + ocean_back

    def add_dt(self, amount: float) -> float:
        """Add up to `amount` DT of the reserve to the pool alone (it lowers the price); returns what it added."""
        amount = min(amount, self.v["reserve"], self.pool.dt / 2 * (1 - 1e-9))  # Balancer's MAX_IN_RATIO
        if amount <= 0:
            return 0.0
        self.v["bot_shares"] += self.pool.pool.join(BOT, "A", amount)
        self.v["reserve"] -= amount
        return amount

    def move_price(self, target: float) -> None:
        """Bring the pool's DT price down to `target` by adding DT alone, as far as the reserve allows."""
        pool = self.pool
        for _ in range(8):  # each join is at most half the pool's DT (Balancer's limit)
            if pool.price <= target * (1 + 1e-9):
                return
            w = pool.weight
            needed = pool.ocean * w / ((1 - w) * target) - pool.dt  # a join puts all of it in the balance
            if self.add_dt(needed) <= 0:
                return


class SideStakingSpec(PluginSpec):
    """Options: `reserve` (DT), `dt`, `pool` (keys of the earlier datatoken and pool)."""

    kind = "side_staking"

    def variables(self, key: str) -> dict[str, Variable]:
        return {
            f"{key}_reserve": Variable("Staking Bot DT Reserve", self.option("reserve"), display={"type": "DT"}),
            f"{key}_staked": state_var(key, "staked", "OCEAN Staked Through the Bot", type=OCEAN),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        dt, pool = datatoken_of(self.kind, key, self, plugins), pool_of(self.kind, key, self, plugins)
        return SideStaking(key, dt, pool, v[f"{key}_reserve"])


class WeightSchedule(Plugin):
    """A liquidity bootstrapping schedule: at each day's end the pool's DT weight is set to the schedule's."""

    def __init__(self, key: str, pool: PoolView, start: float, end: float, days: float) -> None:
        super().__init__(key)
        self.pool, self.start, self.end, self.days = pool, start, end, days
        pool.pool.set_weight(start)
        self.v = {"weight": start}

    def end_day(self, day: int) -> None:
        weight = schedule(self.start, self.end, self.days, day)
        if weight != self.v["weight"]:
            self.pool.pool.set_weight(weight)
            self.v["weight"] = weight


class WeightScheduleSpec(PluginSpec):
    """Options: `start_weight`, `end_weight` (the DT's), `days`, `pool`."""

    kind = "weight_schedule"

    def variables(self, key: str) -> dict[str, Variable]:
        return {
            f"{key}_start_weight": Variable("LB Start DT Weight", self.option("start_weight")),
            f"{key}_end_weight": Variable("LB End DT Weight", self.option("end_weight")),
            f"{key}_days": Variable("LB Days", self.option("days")),
            f"{key}_weight": state_var(key, "weight", "Pool DT Weight"),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        pool = pool_of(self.kind, key, self, plugins)
        return WeightSchedule(key, pool, v[f"{key}_start_weight"], v[f"{key}_end_weight"], v[f"{key}_days"])


class DutchAuctionPlugin(Plugin):
    """A Dutch auction (see `simcore.components.ocean.DutchAuction`). State `v`: `price` (OCEAN per DT today),
    `open` (1 while it sells), `sold`, `proceeds`, `left` (DT a publisher-run auction still has)."""

    def __init__(self, key: str, dt: Datatoken, pool: PoolView, staking: SideStaking | None, run_by: str,
                 start: float, floor: float, days: float, tranche: float) -> None:  # fmt: skip
        super().__init__(key)
        if run_by not in ("publisher", "pool"):
            raise PluginError(f"{key}: run_by must be 'publisher' or 'pool', got {run_by!r}")
        if run_by == "pool" and staking is None:
            raise PluginError(f"{key}: a pool-run auction needs the staking bot (a side_staking plugin) to add DT")
        self.dt, self.pool, self.staking, self.by_pool = dt, pool, staking, run_by == "pool"
        self.start, self.floor, self.days = start * dt.consume_value, floor * dt.consume_value, days
        if not (self.start > 0 and self.floor >= 0):  # its price goes geometrically from one to the other
            raise PluginError(
                f"an auction needs a start price above 0 and a floor of 0 or more, got {self.start:g} and "
                f"{self.floor:g} OCEAN ({start:g} and {floor:g} times the datatoken's consume value, "
                f"{dt.consume_value:g})"
            )
        left = 0.0 if self.by_pool else dt.issue(tranche, f"{key}'s tranche")
        self.v = {"price": self.start, "open": 1, "sold": 0.0, "proceeds": 0.0, "left": left, "last": self.start}

    def buy(self, amount: float, limit: float) -> tuple[float, float]:
        """Buy up to `amount` DT from a publisher-run auction if today's price is at most `limit`: (DT, OCEAN paid)."""
        v = self.v
        if self.by_pool or not v["open"] or v["price"] > limit:
            return 0.0, 0.0
        got = min(amount, v["left"])
        paid = got * v["price"]
        v["left"] -= got
        v["sold"] += got
        v["proceeds"] += paid
        v["last"] = v["price"]
        self.dt.credit(ocean=paid)
        return got, paid

    def end_day(self, day: int) -> None:
        v = self.v
        if not v["open"]:
            return
        if day >= self.days or (not self.by_pool and v["left"] <= 0):
            self._close()
            return
        v["price"] = auction_price(self.start, self.floor, self.days, day)
        if self.by_pool and self.staking is not None and self.pool.price > v["price"]:
            self.staking.move_price(v["price"])

    def _close(self) -> None:
        v = self.v
        v["open"] = 0
        if not self.by_pool:
            self.dt.burn(v["left"])
            v["left"] = 0.0
            if self.staking is not None:  # the pool opens at the auction's last price
                self.staking.move_price(v["last"])


class DutchAuctionSpec(PluginSpec):
    """Options: `run_by`, `start`, `floor` (in consume values), `days`, `tranche` (DT), `dt`, `pool`, `staking`
    (key of the staking bot, default "staking")."""

    kind = "dutch_auction"

    def variables(self, key: str) -> dict[str, Variable]:
        params = ("start", "floor", "days", "tranche")
        return {f"{key}_{p}": Variable(f"Auction {p}", self.option(p)) for p in params} | {
            f"{key}_sold": state_var(key, "sold", "DT Sold at Auction", type="DT"),
            f"{key}_proceeds": state_var(key, "proceeds", "Auction Proceeds", type=OCEAN),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        dt, pool = datatoken_of(self.kind, key, self, plugins), pool_of(self.kind, key, self, plugins)
        staking = plugins.get(self.option("staking", "staking"))
        staking = staking if isinstance(staking, SideStaking) else None
        numbers = (v[f"{key}_{p}"] for p in ("start", "floor", "days", "tranche"))
        return DutchAuctionPlugin(key, dt, pool, staking, self.option("run_by"), *numbers)


class Premine(Plugin):
    """A vested premine: at each day's end the DT vested that day is minted and owed to the publisher."""

    def __init__(self, key: str, dt: Datatoken, total: float, start: float, cliff: float, duration: float) -> None:
        super().__init__(key)
        self.dt, self.terms = dt, (total, start, cliff, duration)
        self.v = {"vested": 0.0}

    def end_day(self, day: int) -> None:
        done = vested(*self.terms, day)
        if done > self.v["vested"]:
            self.dt.credit(dt=self.dt.issue(done - self.v["vested"], f"{self.key}'s vesting"))
            self.v["vested"] = done


class PremineSpec(PluginSpec):
    """Options: `total` (DT), `start`, `cliff`, `duration` (days), `dt`."""

    kind = "premine"

    def variables(self, key: str) -> dict[str, Variable]:
        params = ("total", "start", "cliff", "duration")
        return {f"{key}_{p}": Variable(f"Premine {p}", self.option(p)) for p in params} | {
            f"{key}_vested": state_var(key, "vested", "Premine Vested", type="DT")
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        numbers = (v[f"{key}_{p}"] for p in ("total", "start", "cliff", "duration"))
        return Premine(key, datatoken_of(self.kind, key, self, plugins), *numbers)


class VolumeCapPlugin(Plugin):
    """The soft cap on the volume:consume ratio (see `simcore.components.ocean.VolumeCap`): at each day's end the
    pool's fee is set from the last `window` days' swap volume and consume volume. State `v`: `fee`, `ratio`."""

    def __init__(self, key: str, dt: Datatoken, pool: PoolView, ratio: float, window: float,
                 base_fee: float, max_fee: float) -> None:  # fmt: skip
        super().__init__(key)
        self.dt, self.pool, self.rule = dt, pool, (ratio, base_fee, max_fee)
        self.days: deque[tuple[float, float]] = deque(maxlen=max(1, round(window)))
        self._seen = (pool.pool.v["volume_b"], dt.v["consume_paid"])
        pool.pool.set_fee(base_fee)
        self.v = {"fee": base_fee, "ratio": 0.0}

    def end_day(self, day: int) -> None:
        swapped, paid = self.pool.pool.v["volume_b"], self.dt.v["consume_paid"]
        self.days.append((swapped - self._seen[0], paid - self._seen[1]))
        self._seen = (swapped, paid)
        volume, consumed = (sum(day[k] for day in self.days) for k in (0, 1))
        fee = capped_fee(*self.rule, volume, consumed)
        self.v = {"fee": fee, "ratio": volume / consumed if consumed > 0 else float(volume > 0) * 1e9}
        self.pool.pool.set_fee(fee)


class VolumeCapSpec(PluginSpec):
    """Options: `ratio`, `window` (days), `base_fee`, `max_fee`, `dt`, `pool`."""

    kind = "volume_cap"

    def variables(self, key: str) -> dict[str, Variable]:
        params = ("ratio", "window", "base_fee", "max_fee")
        return {f"{key}_{p}": Variable(f"Volume Cap {p}", self.option(p)) for p in params} | {
            f"{key}_fee": state_var(key, "fee", "Pool Swap Fee")
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        dt, pool = datatoken_of(self.kind, key, self, plugins), pool_of(self.kind, key, self, plugins)
        numbers = (v[f"{key}_{p}"] for p in ("ratio", "window", "base_fee", "max_fee"))
        return VolumeCapPlugin(key, dt, pool, *numbers)
