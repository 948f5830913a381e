"""The resource_economy plugin: the paper's AI-driven resource economy (seed 001, §7.4), run day by day, with a seat
in it for an evolved agent.

N autonomous agents (§2.1: a budget B_i, preferences w_ij, a daily need n_ij, a utility U_i) bid every day for R
resources (§2.2, e.g. compute, data and storage), each with a limited capacity C_j a day. The formulas, with the
paper's sections (prices and preferences are in the currency; each resource's own are relative to its `value`):

- Needs and preferences (§2.1, §4.2), drawn from the run's generator so a seed reproduces them: an agent's base need
  n̄_ij = need_j * exp(spread * Z), its preference w_ij = value_j * exp(spread * Z), its priority U(0, 1) and its
  income `income` * sum_j w_ij n̄_ij a day; each day's need is n_ij(t) = n̄_ij * exp(noise * Z - noise^2 / 2)
  (times the shock's factor during a demand shock).
- Utility (§2.1 U_i): u_ij = w_ij n_ij h(a_ij / n_ij), h(x) = x (2 - x) up to x = 1 and 1 beyond: the first unit is
  worth 2 w_ij, the last unit of need nothing, units beyond the need nothing. U_i sums u_ij over resources and days.
- Requests (§4.2, Q_ij = q(P_j, needs_i, P_i)): an agent bids its demand schedule, its need in SLICES equal bids,
  bid m at its marginal value there, L = w_ij (2 - (2m + 1) / SLICES); bids below the posted price are not made,
  and all are scaled down together when their cost at their limits, sum qty * L, exceeds its balance. So it
  requests Q_ij ~ n_ij (1 - P_j / (2 w_ij)), the quantity whose marginal utility is the price.
- Allocation (§4.2, `allocate`): among the bids at or above the posted price P_j, `proportional` gives each bid
  qty * min(1, C_j / D_j) (D_j the qty bid); `priority` fills whole bids by the agent's priority (highest first),
  the marginal one in part; `auction` (sealed bids) fills them by limit, highest first, and every unit costs the
  uniform clearing price max(P_j, the highest limit among bids not filled in full); the other two charge P_j.
  Allocations never exceed the capacity; ties go to the lower agent index.
- Payments and incentives (§5, §6 ΔB_i = Income - Expenses): an agent pays fill * price; the protocol keeps `fee`
  of it in a treasury, the producers of the resource get the rest, and the treasury pays producers a reward of
  `reward` * value_j per unit of capacity provided, as far as it holds enough. Every agent earns its income daily.
- Production (§4.3): capacity starts at C_j = `capacity` * sum_i n̄_ij and moves with the producers' margin, C <-
  C (1 + `growth` * clip((m - c) / c, -1, 1)), m their income per unit of capacity that day and c = `cost` * value_j.
- Prices (§3): `tatonnement` (§3.2's price adjustment ΔP_j = g(D_j - O_j, S_j)): P_{t+1} = max(floor,
  P_t (1 + eta (D - C) / C)), the excess counted at most EXCESS_CAP; `bonding` (§3.1 P_j = f_j(S_j, Φ_j), and §6's
  ΔS_j = NetFlow_j): the resource token is minted for every unit bid for and burned for every unit of capacity
  produced, so its supply S_j (in days of the initial capacity, never below 0) is the running excess of demand,
  S_{t+1} = max(0, S_t + (D - C) / C_0), and P_j = value_j * max(floor, base + slope * S^exponent) (the
  `bonding_curve` component's power law; exponent 1 is the paper's linear curve).
- Shocks (§10 "resilience to shocks"): from `shock_day` for `shock_length` days (0: to the end) the capacity
  (`shock_kind` capacity) or the needs (demand) of every resource are multiplied by `shock_size`.

KPIs (§10), in the state and as variables: `volatility` (the std of daily log changes of the posted price, averaged
over resources; the paper says the std of prices, whose level and trend the log changes leave out), `utilisation`
(allocated over capacity, summed over days, averaged over resources), `unmet` (unmet need over need, the same way),
`utility` (all agents' U_i), `deviation` (the largest |P / P_ref - 1| from the shock on, P_ref the mean posted price
of the BASELINE days before it; the largest over resources) and `recovery` (days from the shock until the price,
having left the band of `tolerance` around P_ref, stays in it for HOLD days; while it has not, the days so far;
the slowest resource), `recovered` (1 when every resource that left the band is back). Conservation: `paid` (all
agents' payments) = `producers` (their share) + `fees`; `treasury` = `fees` - `rewards`.

As a slot market (`ResourceMarket`, a custody market) one agent's seat (`seat`, default the last) is the evolved
player's: instead of bidding its schedule, the agent bids what the player bids (`buy_compute(qty, limit)`, ...). A
bid reserves qty * limit of the currency from the wallet; after the day's clearing what it did not pay, the agent's
income and the utility it got (as the UTIL ticker, worth its value in the currency by the definition of w) are owed
to the seat and collected into the wallet at its next turn. Rounding never favours the seat: a deposit raises the
reserves by at least its amount, a payment lowers them by at least what was paid, and income and utility raise
them by at most what was earned.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from simcore.checks import is_number, listed
from simcore.errors import PluginError, ScenarioError
from simcore.exact import ceil_float, floor_float, units
from simcore.markets import Action, Market, Quote, RefusedError, Reserves
from simcore.plugins.base import Plugin, PluginSpec, state_var
from simcore.variables import Variable

SLICES = 4  # bids in an agent's demand schedule per resource
EXCESS_CAP = 10.0  # the tâtonnement counts excess demand at most this many times the capacity (a shut capacity)
BASELINE = 7  # days before a shock whose mean posted price is the pre-shock price
HOLD = 7  # days the price must stay in the band to have recovered
DUST = 1e-12  # a bid filled within this share of its qty is filled in full
RULES = ("tatonnement", "bonding")
ALLOCATIONS = ("proportional", "priority", "auction")
SHOCKS = ("capacity", "demand")
MARKET_RESOURCES = ("compute", "data", "storage")  # the resources a seat can bid for (its market's actions)
RESOURCES: dict[str, dict[str, float]] = {  # the default economy: a day's need per agent and the value of a unit
    "compute": {"need": 4.0, "value": 1.0},
    "data": {"need": 10.0, "value": 0.2},
    "storage": {"need": 20.0, "value": 0.05},
}


@dataclass(frozen=True)
class Parameter:
    """A numeric parameter of the economy: its default, its bounds (inclusive), what it is and its unit."""

    default: float
    low: float
    high: float
    description: str
    unit: str | None = None
    integer: bool = False


PARAMETERS: dict[str, Parameter] = {
    "agents": Parameter(12, 2, 100, "Agents in the economy, the seat's included.", "agents", integer=True),
    "capacity": Parameter(
        0.7, 0.05, 5.0, "Each resource's starting daily capacity, as a share of the agents' total base need for it."
    ),
    "spread": Parameter(0.4, 0.0, 2.0, "Spread (log sd) of needs and preferences across agents."),
    "noise": Parameter(0.2, 0.0, 2.0, "Day-to-day noise (log sd) of each agent's needs."),
    "income": Parameter(0.6, 0.0, 10.0, "An agent's daily income as a share of the value of its full base needs."),
    "budget": Parameter(3.0, 0.0, 365.0, "An agent's starting balance, in days of its income.", "days"),
    "price": Parameter(0.8, 0.01, 10.0, "Tâtonnement: the starting price, as a share of each resource's value."),
    "eta": Parameter(0.3, 0.0, 1.0, "Tâtonnement: the price's step per unit of relative excess demand (eta)."),
    "floor": Parameter(0.01, 0.001, 10.0, "The lowest price, as a share of each resource's value (both rules)."),
    "curve_base": Parameter(0.2, 0.0, 10.0, "Bonding curve: the price at zero supply, as a share of the value."),
    "curve_slope": Parameter(0.5, 0.0, 100.0, "Bonding curve: the coefficient of the supply's power in the price."),
    "curve_exponent": Parameter(1.0, 0.0, 10.0, "Bonding curve: the power of the supply in the price (1 = linear)."),
    "curve_supply": Parameter(
        1.0, 0.0, 1000.0, "Bonding curve: the resource tokens' starting supply, in days of capacity.", "days"
    ),
    "fee": Parameter(0.05, 0.0, 0.5, "The protocol's share of every payment, kept in the treasury."),
    "reward": Parameter(
        0.02, 0.0, 2.0, "Incentive: the treasury's reward to producers per unit of capacity, as a share of the value."
    ),
    "cost": Parameter(0.4, 0.0, 10.0, "Producers' cost per unit of capacity, as a share of the value."),
    "growth": Parameter(0.01, 0.0, 0.5, "How fast capacity follows the producers' margin, per day."),
    "shock_day": Parameter(180, 1, 36500, "The first day of the shock.", "day", integer=True),
    "shock_length": Parameter(30, 0, 36500, "Days the shock lasts (0: to the end of the run).", "days", integer=True),
    "shock_size": Parameter(0.5, 0.0, 10.0, "What the shock multiplies the capacity (or the needs) by; 1: no shock."),
    "tolerance": Parameter(0.1, 0.001, 1.0, "The band around the pre-shock price within which it has recovered."),
}
FIELDS = (
    "price",
    "capacity",
    "demand",
    "allocated",
    "clearing",
    "supply",
    "used",
    "seat_need",
    "seat_value",
    "seat_got",
)
"""The state's fields per resource R (`price_R`, ...), in `ResourceEconomy._record`'s order."""
TEXT_OPTIONS = {"rule": RULES, "allocation": ALLOCATIONS, "shock_kind": SHOCKS}
KPIS = {  # state field -> (variable name, unit)
    "volatility": ("Price Volatility (std of daily log changes)", None),
    "utilisation": ("Utilisation (allocated / capacity)", None),
    "unmet": ("Unmet Need Share", None),
    "utility": ("Total Utility", "currency"),
    "deviation": ("Largest Price Deviation after the Shock", None),
    "recovery": ("Days to Recover from the Shock", "days"),
    "recovered": ("Recovered from the Shock (1 = yes)", None),
    "paid": ("Paid by Agents", "currency"),
    "producers": ("Received by Producers", "currency"),
    "fees": ("Protocol Fees", "currency"),
    "rewards": ("Capacity Rewards Paid", "currency"),
    "treasury": ("Treasury", "currency"),
}


# --- the formulas, each a pure function ---------------------------------------------------------------------------


@dataclass(slots=True)
class Bid:
    """A sealed bid for one resource: `qty` units at `limit` (currency per unit) or less, by agent `owner`."""

    owner: int
    qty: float
    limit: float


@dataclass(frozen=True)
class Allocation:
    """A day's allocation of one resource: each bid's fill (in the bids' order), what a unit costs, and the demand
    (the qty of the bids at or above the posted price)."""

    fills: tuple[float, ...]
    price: float
    demand: float


def allocate(
    bids: Sequence[Bid], capacity: float, price: float, rule: str, priority: Sequence[float] = ()
) -> Allocation:
    """The day's allocation of `capacity` among `bids` at the posted `price` by `rule` (the module doc, §4.2);
    `priority[owner]` ranks the owners for `priority`. The fills never add up to more than the capacity."""
    eligible = [k for k, bid in enumerate(bids) if bid.qty > 0 and bid.limit >= price]
    demand = math.fsum(bids[k].qty for k in eligible)
    fills = [0.0] * len(bids)
    if not eligible or capacity <= 0:
        return Allocation(tuple(fills), price, demand)
    if rule == "proportional":
        share = min(1.0, capacity / demand)
        while True:
            for k in eligible:
                fills[k] = bids[k].qty * share
            if math.fsum(fills) <= capacity:
                return Allocation(tuple(fills), price, demand)
            share = math.nextafter(share, 0.0)
    if rule == "auction":
        order = sorted(eligible, key=lambda k: (-bids[k].limit, bids[k].owner, k))
    elif rule == "priority":
        order = sorted(eligible, key=lambda k: (-priority[bids[k].owner], bids[k].owner, k))
    else:
        raise PluginError(f"allocation must be one of {listed(ALLOCATIONS)}, got {rule!r}")
    left = capacity  # roughly: the marginal bid gets exactly what the others left
    for k in order:
        if bids[k].qty < left:
            fills[k] = bids[k].qty
            left -= fills[k]
            continue
        fills[k] = max(0.0, min(bids[k].qty, capacity - math.fsum(fills)))
        while math.fsum(fills) > capacity:  # the subtraction's rounding: an ulp or two
            fills[k] = math.nextafter(fills[k], 0.0)
        break
    unit = price
    if rule == "auction":
        short = [bids[k].limit for k in eligible if bids[k].qty - fills[k] > bids[k].qty * DUST]
        unit = max(price, *short) if short else price
    return Allocation(tuple(fills), unit, demand)


def schedule(need: float, value: float) -> list[tuple[float, float]]:
    """An agent's demand schedule for one resource (§4.2): SLICES bids (qty, limit) of its need, each at its marginal
    value w (2 - 2x) at the slice's middle x."""
    return [(need / SLICES, value * (2.0 - (2 * m + 1) / SLICES)) for m in range(SLICES)]


def utility(value: float, need: float, got: float) -> float:
    """What `got` units are worth to an agent needing `need` with preference `value` (§2.1): value * need * h(got /
    need), h(x) = x (2 - x) up to 1."""
    if need <= 0:
        return 0.0
    x = min(got / need, 1.0)
    return value * need * x * (2.0 - x)


def tatonnement(price: float, demand: float, supply: float, eta: float, floor: float) -> float:
    """Tomorrow's price by the price adjustment rule (§3.2): P (1 + eta (D - S) / S), at least `floor`."""
    shut = EXCESS_CAP if demand > 0 else 0.0  # no capacity at all: the largest excess, if anyone bids
    excess = min((demand - supply) / supply, EXCESS_CAP) if supply > 0 else shut
    return max(floor, price * (1.0 + eta * excess))


def curve_price(supply: float, base: float, slope: float, exponent: float) -> float:
    """The bonding curve's price at `supply` (§3.1), relative to the resource's value: base + slope * supply^exponent
    (the `bonding_curve` component's power law)."""
    return base + slope * supply**exponent


def minted(supply: float, demand: float, capacity: float, scale: float) -> float:
    """The resource token's supply after a day (§6 ΔS = NetFlow): minted for the units bid for, burned for the units
    produced, in days of `scale` (the initial capacity), never below 0."""
    return max(0.0, supply + (demand - capacity) / scale)


def grown(capacity: float, earned: float, cost: float, growth: float, low: float, high: float) -> float:
    """Tomorrow's capacity (§4.3): it grows with the producers' margin over their cost per unit, (earned - cost) /
    cost (clipped to [-1, 1]), at `growth` a day, within [low, high]."""
    margin = (earned - cost) / cost if cost > 0 else (1.0 if earned > 0 else 0.0)
    return min(high, max(low, capacity * (1.0 + growth * max(-1.0, min(1.0, margin)))))


def volatility(prices: Sequence[float]) -> float:
    """The std (population) of the daily log changes of `prices` (§10's price volatility); 0 for fewer than two."""
    changes = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    if not changes:
        return 0.0
    mean = math.fsum(changes) / len(changes)
    return math.sqrt(math.fsum((c - mean) ** 2 for c in changes) / len(changes))


class Welford:
    """A running mean and variance (Welford's), for a KPI read every day in O(1)."""

    __slots__ = ("count", "m2", "mean")

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: float) -> None:
        self.count += 1
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(max(self.m2, 0.0) / self.count) if self.count else 0.0


class ShockWatch:
    """Stability under the shock (§10) for one resource, fed the posted price of each day in turn (`see`)."""

    def __init__(self, day: int, tolerance: float) -> None:
        self.day, self.tolerance = day, tolerance
        self.before: list[float] = []
        self.reference: float | None = None
        self.deviation = 0.0
        self.left = False  # whether the price has left the band since the shock
        self.run = 0  # days in the band since it last left it
        self.back: int | None = None  # the day from which it stayed in the band for HOLD days
        self.last = 0

    def see(self, day: int, price: float) -> None:
        self.last = day
        if day < self.day:
            self.before = [*self.before[-(BASELINE - 1) :], price]
            return
        if self.reference is None:
            self.reference = math.fsum(self.before) / len(self.before) if self.before else price
        gap = abs(price / self.reference - 1.0)
        self.deviation = max(self.deviation, gap)
        if gap > self.tolerance:
            self.left, self.run = True, 0
        elif self.left and self.back is None:
            self.run += 1
            if self.run == HOLD:
                self.back = day - HOLD + 1

    @property
    def recovery(self) -> float:
        """Days from the shock to the recovery; while not recovered, the days seen since the shock; 0 when the price
        never left the band (or the shock has not come)."""
        if self.back is not None:
            return float(self.back - self.day)
        return float(self.last - self.day + 1) if self.left else 0.0

    @property
    def recovered(self) -> bool:
        return self.back is not None or not self.left


# --- the economy --------------------------------------------------------------------------------------------------


@dataclass
class Agent:
    """One agent (§2.1): base needs and preferences per resource, income, balance, priority; `need` is today's."""

    base: list[float]
    value: list[float]
    income: float
    balance: float
    priority: float
    need: list[float] = field(default_factory=list)
    limits: list[tuple[float, ...]] = field(default_factory=list)  # per resource, its schedule's limits, highest first


class SeatAccount:
    """What the economy holds for the seat: `usd` (today's deposits, then what it owes: refunds and income) and
    `util` (the utility owed), as the reserves the ledger reads; `bids` are today's (resource index, qty, limit)."""

    def __init__(self) -> None:
        self.usd = 0.0
        self.util = 0.0
        self.bids: list[tuple[int, float, float]] = []


class ResourceEconomy(Plugin):
    """The economy of the module doc; `end_day` clears every resource and moves prices, capacities and needs on.

    State `v` (flat, so stats columns are `KEY.FIELD`): per resource R `price_R` (today's posted price), `capacity_R`
    (today's), `demand_R`, `allocated_R`, `clearing_R` (what a unit cost) and `supply_R` (the token supply, bonding)
    of the last clearing, and `used_R` (allocated / capacity then); the seat's `seat_need_R`, `seat_value_R` (today's
    need and preference), `seat_got_R` (its last allocation), `seat_paid`, `seat_utility`, `seat_income` (totals);
    and the KPIS (module doc)."""

    def __init__(
        self, key: str, params: Mapping[str, Any], resources: Mapping[str, Mapping[str, float]], seat: int,
        rng: random.Random,
    ) -> None:  # fmt: skip
        super().__init__(key)
        self.p = dict(params)
        self.names = tuple(resources)
        self.needs = [float(resources[name]["need"]) for name in self.names]
        self.values = [float(resources[name]["value"]) for name in self.names]
        self.rng, self.seat = rng, seat
        self.account: SeatAccount | None = None
        p, spread = self.p, self.p["spread"]
        self.agents: list[Agent] = []
        for _ in range(p["agents"]):
            priority = rng.random()
            base = [need * math.exp(spread * rng.gauss(0.0, 1.0)) for need in self.needs]
            value = [unit * math.exp(spread * rng.gauss(0.0, 1.0)) for unit in self.values]
            income = p["income"] * math.fsum(w * n for w, n in zip(value, base, strict=True))
            limits = [tuple(limit for _, limit in schedule(1.0, w)) for w in value]
            self.agents.append(Agent(base, value, income, p["budget"] * income, priority, limits=limits))
        self.initial = [p["capacity"] * math.fsum(a.base[j] for a in self.agents) for j in range(len(self.names))]
        self.capacity = list(self.initial)
        self.supply = [p["curve_supply"] if p["rule"] == "bonding" else 0.0 for _ in self.names]
        self.prices = [self._price(j, p["price"] * self.values[j]) for j in range(len(self.names))]
        self.moves = [Welford() for _ in self.names]
        self.watches = [ShockWatch(p["shock_day"], p["tolerance"]) for _ in self.names]
        self.allocated = [0.0] * len(self.names)
        self.offered = [0.0] * len(self.names)
        self.needed = [0.0] * len(self.names)
        self.unmet_units = [0.0] * len(self.names)
        self.sums = dict.fromkeys(("utility", "paid", "producers", "fees", "rewards", "treasury"), 0.0)
        self.seat_sums = dict.fromkeys(("seat_paid", "seat_utility", "seat_income"), 0.0)
        self.seat_got = [0.0] * len(self.names)
        self.v = {}
        self._draw_needs(1)
        self.fields = [tuple(f"{field}_{name}" for field in FIELDS) for name in self.names]
        self._record(0, [(0.0, 0.0, self.prices[j]) for j in range(len(self.names))], [0.0] * len(self.names))

    def _price(self, j: int, tatonnement_price: float) -> float:
        """Resource j's posted price under the rule: the tâtonnement's given one, or the curve's at its supply."""
        p, floor = self.p, self.p["floor"] * self.values[j]
        if p["rule"] == "tatonnement":
            return max(floor, tatonnement_price)
        try:
            relative = curve_price(self.supply[j], p["curve_base"], p["curve_slope"], p["curve_exponent"])
        except OverflowError:
            relative = math.inf
        if not math.isfinite(relative):
            raise PluginError(f"{self.key}: the bonding curve overflows at a supply of {self.supply[j]!r}")
        return max(floor, self.values[j] * relative)

    def shocked(self, day: int) -> bool:
        """Whether the shock acts on `day`."""
        start, length = self.p["shock_day"], self.p["shock_length"]
        return day >= start and (length == 0 or day < start + length)

    def _draw_needs(self, day: int) -> None:
        """Every agent's needs for `day` (drawn from the run's generator, the same whatever anyone bids)."""
        noise = self.p["noise"]
        factor = self.p["shock_size"] if self.p["shock_kind"] == "demand" and self.shocked(day) else 1.0
        for agent in self.agents:
            agent.need = [
                n * math.exp(noise * self.rng.gauss(0.0, 1.0) - noise * noise / 2) * factor for n in agent.base
            ]

    def take_seat(self) -> SeatAccount:
        """The seat's account, opened once: from now on the seat's agent bids what the player bids."""
        if self.account is not None:
            raise PluginError(f"{self.key}: the seat is taken; an economy has one seat")
        self.account = SeatAccount()
        return self.account

    def _bids(self) -> list[list[Bid]]:
        """Today's bids per resource: each automatic agent's schedule at or above the posted price, scaled down so
        that what it could cost at its limits fits the agent's balance; and the seat's."""
        bids: list[list[Bid]] = [[] for _ in self.names]
        for i, agent in enumerate(self.agents):
            if i == self.seat and self.account is not None:
                for j, qty, limit in self.account.bids:
                    bids[j].append(Bid(i, qty, limit))
                continue
            offers = []  # its schedule's bids at or above the posted prices: (resource, qty, limit)
            for j, price in enumerate(self.prices):
                qty = agent.need[j] / SLICES
                offers += [(j, qty, limit) for limit in agent.limits[j] if limit >= price]
            cost = math.fsum(qty * limit for _, qty, limit in offers)
            scale = min(1.0, agent.balance / cost) if cost > 0 else 1.0
            for j, qty, limit in offers:
                bids[j].append(Bid(i, qty * scale, limit))
        return bids

    def end_day(self, day: int) -> None:
        """Clear every resource, settle, reward, grow capacity, move prices, draw tomorrow's needs, note the KPIs."""
        p, names = self.p, self.names
        bids = self._bids()
        shocked = p["shock_kind"] == "capacity" and self.shocked(day)
        got = [[0.0] * len(names) for _ in self.agents]
        paid = [0.0] * len(self.agents)
        seat_units = 0  # what the seat pays, exactly (its account is charged no less)
        cleared = [(0.0, 0.0, 0.0)] * len(names)  # per resource: demand, allocated, unit price
        used = [0.0] * len(names)
        earned = [0.0] * len(names)
        offered = [c * (p["shock_size"] if shocked else 1.0) for c in self.capacity]
        priority = [a.priority for a in self.agents]
        sums = self.sums
        for j in range(len(names)):
            result = allocate(bids[j], offered[j], self.prices[j], p["allocation"], priority)
            pays = []
            for bid, fill in zip(bids[j], result.fills, strict=True):
                if fill > 0:
                    got[bid.owner][j] += fill
                    pay = fill * result.price
                    paid[bid.owner] += pay
                    pays.append(pay)
                    if bid.owner == self.seat:
                        seat_units += units(pay)
            total = math.fsum(pays)  # §6: Expenses of the agents, Income of the producers and the treasury
            fee = total * p["fee"]
            earned[j] = total - fee
            sums["paid"] += total
            sums["fees"] += fee
            sums["producers"] += earned[j]
            allocated = math.fsum(result.fills)
            used[j] = allocated / offered[j] if offered[j] > 0 else 0.0
            cleared[j] = (result.demand, allocated, result.price)
            self.allocated[j] += allocated
            self.offered[j] += offered[j]
            self._move_price(j, day, result.demand, offered[j])
        self._settle(got, paid, seat_units)
        self._reward_and_grow(offered, earned)
        self._draw_needs(day + 1)
        self._record(day, cleared, used)

    def _move_price(self, j: int, day: int, demand: float, offered: float) -> None:
        """Tomorrow's posted price of resource j by the rule, and its KPIs (today's price seen by the shock watch)."""
        p, today = self.p, self.prices[j]
        self.watches[j].see(day, today)
        if p["rule"] == "bonding":
            self.supply[j] = minted(self.supply[j], demand, offered, self.initial[j])
            tomorrow = self._price(j, today)
        else:
            tomorrow = tatonnement(today, demand, offered, p["eta"], p["floor"] * self.values[j])
        self.moves[j].add(math.log(tomorrow / today))
        self.prices[j] = tomorrow

    def _settle(self, got: list[list[float]], paid: list[float], seat_units: int) -> None:
        """Payments, utility and income: the automatic agents' balances, the seat's account (charged `seat_units`,
        its payments exactly, and credited its income and utility rounded down)."""
        for i, agent in enumerate(self.agents):
            u = math.fsum(utility(agent.value[j], agent.need[j], got[i][j]) for j in range(len(self.names)))
            self.sums["utility"] += u
            for j in range(len(self.names)):
                self.needed[j] += agent.need[j]
                self.unmet_units[j] += max(0.0, agent.need[j] - got[i][j])
            if i == self.seat:
                self.seat_got = got[i]
                self.seat_sums["seat_paid"] += paid[i]
                self.seat_sums["seat_utility"] += u
                self.seat_sums["seat_income"] += agent.income
            if i == self.seat and self.account is not None:
                account = self.account
                account.usd = floor_float(units(account.usd) - seat_units + units(agent.income))
                account.util = floor_float(units(account.util) + units(u))
                account.bids = []
            else:
                agent.balance = max(0.0, agent.balance - paid[i]) + agent.income

    def _reward_and_grow(self, offered: list[float], earned: list[float]) -> None:
        """The treasury's capacity rewards (§5), then each resource's capacity for tomorrow (§4.3)."""
        p, sums = self.p, self.sums
        treasury = sums["fees"] - sums["rewards"]
        due = [p["reward"] * self.values[j] * offered[j] for j in range(len(offered))]
        total = math.fsum(due)
        share = min(1.0, treasury / total) if total > 0 and treasury > 0 else 0.0
        rewards = [d * share for d in due]
        while share < 1.0 and math.fsum(rewards) > treasury:  # never more than the treasury holds, rounding included
            share = math.nextafter(share, 0.0)
            rewards = [d * share for d in due]
        sums["rewards"] += math.fsum(rewards)
        sums["treasury"] = sums["fees"] - sums["rewards"]
        for j in range(len(offered)):
            per_unit = (earned[j] + rewards[j]) / offered[j] if offered[j] > 0 else 0.0
            start = self.initial[j]
            self.capacity[j] = grown(self.capacity[j], per_unit, p["cost"] * self.values[j], p["growth"],
                                     start / 100, start * 100)  # fmt: skip

    def _record(self, day: int, cleared: Sequence[tuple[float, float, float]], used: Sequence[float]) -> None:
        """The state after `day`: tomorrow's prices and capacities, the seat's view and the KPIs."""
        v, seat, got = self.v, self.agents[self.seat], self.seat_got
        tomorrow_shocked = self.p["shock_kind"] == "capacity" and self.shocked(day + 1)
        factor = self.p["shock_size"] if tomorrow_shocked else 1.0
        for j, keys in enumerate(self.fields):
            demand, allocated, unit = cleared[j]
            values = (self.prices[j], self.capacity[j] * factor, demand, allocated, unit, self.supply[j], used[j],
                      seat.need[j], seat.value[j], got[j])  # fmt: skip
            v.update(zip(keys, values, strict=True))
        v.update(self.seat_sums)
        v.update(self.kpis())

    def kpis(self) -> dict[str, float]:
        """The KPIs of the run so far (module doc)."""
        count = len(self.names)
        watches = self.watches
        return {
            "volatility": math.fsum(m.std for m in self.moves) / count,
            "utilisation": math.fsum(a / o if o > 0 else 0.0 for a, o in zip(self.allocated, self.offered, strict=True))
            / count,
            "unmet": math.fsum(u / n if n > 0 else 0.0 for u, n in zip(self.unmet_units, self.needed, strict=True))
            / count,
            "deviation": max(w.deviation for w in watches),
            "recovery": max(w.recovery for w in watches),
            "recovered": float(all(w.recovered for w in watches)),
            **self.sums,
        }


# --- the seat's market ----------------------------------------------------------------------------------------------


def _bid_action(resource: str) -> Action:
    return Action(
        ("qty", "limit"),
        f"bid for `qty` units of {resource} today at `limit` {{b}} a unit or less (at or above today's posted "
        f"price): `qty * limit` {{b}} leaves your wallet now, and what the clearing does not charge comes back at "
        "your next turn; returns the {b} reserved.",
    )


class ResourceMarket(Market):
    """The seat's agent in the economy as a slot market: a custody market trading UTIL (utility) and the currency.
    A bid pays its reservation in; after the clearing the seat is owed the refund, its income and its utility."""

    plugin: ResourceEconomy
    swap = False
    actions: ClassVar[Mapping[str, Action]] = {f"buy_{name}": _bid_action(name) for name in MARKET_RESOURCES}
    summary = (
        "an economy of AI agents bidding each day for compute, data and storage, each with a limited capacity a day, "
        "with you in one agent's seat. Each day every bid at or above a resource's posted price (`price_compute`, "
        "...) is cleared against its capacity (`capacity_compute`, ...) by the economy's allocation rule: "
        "`auction` fills bids by limit, highest first, at one clearing price (the posted price, or the highest limit "
        "not filled in full when the capacity runs out), `proportional` rations every bid at the posted price, "
        "`priority` fills agents by rank. Your utility from a resource each day is value * need * h(got / need), "
        "h(x) = x * (2 - x) up to x = 1: the first unit is worth 2 * value {b}, the last unit of your need nothing, "
        "units beyond it nothing; it is paid to you as {a}, worth 1 {b} each. Today's need and value are "
        "`seat_need_compute`, `seat_value_compute`, ...; you earn an income each day. Prices move after each day by "
        "the economy's rule (a bonding curve on the running excess of demand over capacity, or tâtonnement): "
        "bidding for more raises tomorrow's price. Its state `v` also has `demand_R`, `allocated_R`, `clearing_R` "
        "(the last clearing), `seat_got_R` (what you got), `utility`, `utilisation`, `unmet`, `volatility`."
    )

    def __init__(self, plugin: ResourceEconomy, tickers: tuple[str, ...], owner: str) -> None:
        super().__init__(plugin, tickers, owner)
        self.account = plugin.take_seat()

    @classmethod
    def tickers_of(cls, spec: PluginSpec, plugins: Mapping[str, PluginSpec]) -> tuple[str, ...]:
        unknown = [name for name in spec.options.get("resources", RESOURCES) if name not in MARKET_RESOURCES]
        if unknown:
            raise ScenarioError(
                f"slot: a seat bids only for {listed(MARKET_RESOURCES)}; the economy also has {listed(unknown)}"
            )
        return spec.tickers()

    def reserves(self) -> Reserves:
        return self.account.util, self.account.usd

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        economy, account = self.plugin, self.account
        resource = action.removeprefix("buy_")
        if resource not in economy.names:
            raise RefusedError(f"the economy has no {resource}")
        j = economy.names.index(resource)
        qty, limit = float(args[0]), float(args[1])
        if limit < economy.prices[j]:
            raise RefusedError(f"its limit is below today's {resource} price")
        deposit = qty * limit
        held = ceil_float(units(account.usd) + units(deposit))
        if not deposit > 0 or not math.isfinite(held):
            raise RefusedError("it reserves nothing")
        return Quote((account.util, held), ("bid", j, qty, limit), deposit)

    def commit(self, quote: Quote) -> None:
        account = self.account
        account.util, account.usd = quote.reserves
        if quote.state[0] == "bid":
            account.bids.append(quote.state[1:])

    def collect(self) -> Quote | None:
        account = self.account
        if not (account.usd or account.util):
            return None
        return Quote((0.0, 0.0), ("collect",), 0.0)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        """UTIL at 1: the preferences are in the currency, so a unit of utility is worth one of it."""
        return amount if (ticker, quote) == tuple(self.tickers) else None

    @classmethod
    def units(cls, action: str, tickers: tuple[str, ...]) -> tuple[str, str | None]:
        """A bid's qty counts units of its resource; what it returns is a reservation, not a price paid: not summed."""
        return f"{action.removeprefix('buy_')} units", None

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"label": f"{key} {name} price", "key": f"{key}.price_{name}"} for name in MARKET_RESOURCES]


# --- the spec -----------------------------------------------------------------------------------------------------


def _checked(key: str, name: str, value: Any) -> float:
    """A parameter's value if it is a number within its bounds (a whole number for an integer one)."""
    spec = PARAMETERS[name]
    if spec.integer and is_number(value) and float(value).is_integer():
        value = int(value)
    if not is_number(value) or not spec.low <= value <= spec.high:
        kind = "a whole number" if spec.integer else "a number"
        raise PluginError(f"{key}: {name} must be {kind} in [{spec.low:g}, {spec.high:g}], got {value!r}")
    return value


def _unit(unit: str | None, currency: str) -> dict[str, str]:
    """A variable's display hint: its unit, the currency's ticker for "currency"."""
    return {} if unit is None else {"type": currency if unit == "currency" else unit}


def _resources(key: str, spec: Any) -> dict[str, dict[str, float]]:
    """The `resources` option checked: {name: {"need": > 0, "value": > 0}}, at least one."""
    ok = isinstance(spec, Mapping) and len(spec) > 0
    for name, profile in spec.items() if ok else ():
        ok = ok and isinstance(name, str) and name.isidentifier() and isinstance(profile, Mapping)
        ok = ok and all(is_number(profile.get(f)) and profile.get(f) > 0 for f in ("need", "value"))
    if not ok:
        raise PluginError(f"{key}: resources must map names to {{'need': > 0, 'value': > 0}}, got {spec!r}")
    return {name: dict(profile) for name, profile in spec.items()}


class ResourceEconomySpec(PluginSpec):
    """Options: every PARAMETERS entry (a number; each is the variable `KEY_NAME`, so a fuzz or a component moves
    it), `rule` (tatonnement | bonding), `allocation` (proportional | priority | auction), `shock_kind` (capacity |
    demand), `resources` ({name: {"need", "value"}}, default compute, data and storage), `seat` (the index of the
    agent a slot's player replaces, default the last), `currency` and `utility` (the seat's tickers, default USD and
    UTIL). Generated variables: the parameters, the KPIS and each resource's final `KEY_price_R` and
    `KEY_capacity_R`."""

    kind = "resource_economy"
    market = ResourceMarket

    def tickers(self) -> tuple[str, ...]:
        return str(self.option("utility", "UTIL")).upper(), str(self.option("currency", "USD")).upper()

    def variables(self, key: str) -> dict[str, Variable]:
        currency = self.tickers()[1]
        params = {
            f"{key}_{name}": Variable(name.replace("_", " ").capitalize(), self.option(name, spec.default),
                                      spec.description, _unit(spec.unit, currency))
            for name, spec in PARAMETERS.items()
        }  # fmt: skip
        kpis = {
            f"{key}_{name}": state_var(key, name, title, **_unit(unit, currency))
            for name, (title, unit) in KPIS.items()
        }
        names = list(self.option("resources", RESOURCES))
        prices = {f"{key}_price_{r}": state_var(key, f"price_{r}", f"{r.title()} Price", type=currency) for r in names}
        capacities = {f"{key}_capacity_{r}": state_var(key, f"capacity_{r}", f"{r.title()} Capacity") for r in names}
        return params | kpis | prices | capacities

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        params: dict[str, Any] = {name: _checked(key, name, v[f"{key}_{name}"]) for name in PARAMETERS}
        for name, allowed in TEXT_OPTIONS.items():
            value = self.option(name, allowed[0] if name != "rule" else "tatonnement")
            if value not in allowed:
                raise PluginError(f"{key}: {name} must be one of {listed(allowed)}, got {value!r}")
            params[name] = value
        resources = _resources(key, self.option("resources", RESOURCES))
        seat = self.option("seat", params["agents"] - 1)
        if type(seat) is not int or not 0 <= seat < params["agents"]:
            raise PluginError(f"{key}: seat must be an agent's index, 0 to {params['agents'] - 1}, got {seat!r}")
        return ResourceEconomy(key, params, resources, seat, rng)
