"""What every Ocean Market scenario shares (`ocean_v3`, `ocean_1ss`, ...): a data asset's first 60 days, the
publisher in the slot, the agents, the KPIs and the criteria of the slides' design matrix.

A variant is a set of components (`simcore.components.ocean`) on top of the datatoken `dt`, its DT/OCEAN weighted
pool `pool` and the agents `agents`; `variant()` returns the module attributes a scenario declares. The publisher is
the seat: it holds the pool shares it seeded and some spare OCEAN, and its account with the datatoken pays it the DT
consumers spend (and, where a variant has them, its premine and auction proceeds). The game's reference player is an
honest publisher, who sells what it is paid in DT back to the pool; an evolved player in the seat is an adversary
looking for what it can take (an exit scam: mint and dump, pull the liquidity, take the IDO's proceeds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simcore.components import WeightedPool
from simcore.components.base import Component
from simcore.components.ocean import Datatoken, OceanAgents
from simcore.plugins.ocean import BOT

DAYS = 60
CONSUME_VALUE = 10.0  # OCEAN a consume is worth to a consumer, on average
CAP = 10_000.0
SETTLED = 30  # the equilibrium KPIs look at the days from this one on
IDO_DAYS = 14  # the IDO KPIs look at the days up to this one
POOL_ACTIONS = ("buyA", "sellA", "buyB", "sellB", "joinA", "joinB", "exitA", "exitB")


@dataclass(frozen=True)
class Launch:
    """How the pool starts: `ocean` OCEAN at `price` OCEAN per DT with the DT weighing `weight`; the publisher
    holds `share` of the pool's 100 shares (the rest are the staking bot's) and `spare` OCEAN besides."""

    ocean: float
    price: float
    weight: float
    share: float
    spare: float = 1_000.0

    @property
    def dt(self) -> float:
        """The DT beside `ocean` at `price`: B_dt = B_ocean * w_dt / (w_ocean * price)."""
        return self.ocean * self.weight / ((1 - self.weight) * self.price)


@dataclass(frozen=True)
class Variant:
    """One column of the design matrix: its name as the slides write it, who mints, how the pool starts and the
    mechanisms by key."""

    title: str
    minter: str
    launch: Launch
    mechanisms: Mapping[str, Component] = field(default_factory=dict)


def publisher_value(r: Mapping[str, Any], p: Any) -> float | None:
    """The publisher's holdings in OCEAN (its wallet and what it is owed), its DT and its pool shares each at what
    selling it to the pool now would fetch (price impact included, so a thin pool's extreme price does not count);
    None with no seat."""
    wallet = r.get("player")
    if wallet is None:
        return None
    pool, dt = p.pool, p.dt.v
    return (
        wallet["OCEAN"]
        + dt["owed_ocean"]
        + _sale(pool, "sell", wallet["DT"] + dt["owed_dt"])
        + _sale(pool, "exit", wallet["BPT"])
    )


def _sale(pool: Any, action: str, amount: float) -> float:
    """The OCEAN the pool pays for `amount` DT sold (`sell`) or pool shares exited into OCEAN (`exit`) now."""
    if amount <= 0:
        return 0.0
    side = "A" if action == "sell" else "B"
    _, ocean, _ = pool.quote(action, side, amount, limits=False)
    return pool.v["bb"] - ocean


KPIS = (
    "extraction",
    "incentive",
    "ido_runup",
    "eq_swing",
    "decoupling",
    "agents_stake_swing",
)  # also the slot's metrics
CRITERIA = (  # the rows of the slides' design matrix, each a KPI with a threshold (see the module doc)
    {"name": "Simple", "spec": "mechanisms <= 3"},
    {"name": "Avoids large price swings when people just want to stake OCEAN", "spec": "agents_stake_swing <= 0.01"},
    {"name": "Solves price spikes at beginning", "spec": "ido_runup <= 2"},
    {"name": "Solves price spikes in market equilibrium", "spec": "eq_swing <= 0.1"},
    {"name": "No risk of exit scam after IDO", "spec": "extraction <= 0.1", "judge": "adversary"},
    {"name": "Good incentive for publisher to publish initially", "spec": "incentive >= 1000"},
    {"name": "Address risk of datatoken price decoupling from what people will pay for it to consume it",
     "spec": "decoupling <= 0.693"},
)  # fmt: skip


def _reader(kpi: str) -> Any:
    """A slot metric reading the KPI variable `kpi` after the run."""
    return lambda wallet, nvars: nvars[kpi]


def _unvested(p: Any) -> float:
    """The DT a premine still owes the publisher (0 without one)."""
    premine = p.get("premine")
    return 0.0 if premine is None else premine.terms[0] - premine.v["vested"]


def variant(spec: Variant) -> dict[str, Any]:
    """The module attributes of the variant's scenario: vars, components, years, players, before, slot, game,
    graphs, cols and criteria."""
    launch = spec.launch
    if spec.minter == "bot" and abs(launch.share - (1 - launch.weight)) > 1e-12:
        raise ValueError(f"{spec.title}: the bot seeds the DT, so the publisher holds the OCEAN weight's shares")
    pool = WeightedPool(
        token_a="DT",
        token_b="OCEAN",
        balance_a=launch.dt,
        balance_b=launch.ocean,
        weight_a=launch.weight,
        swap_fee=0.001,
        owner=BOT if spec.minter == "bot" else "publisher",
    )
    components: dict[str, Component] = {
        "pool": pool,
        "dt": Datatoken(cap=CAP, minter=spec.minter, consume_value=CONSUME_VALUE),
        **spec.mechanisms,
        "agents": OceanAgents(),
    }
    start_value = launch.spare + launch.ocean  # what the publisher put in: its DT, if it minted them, cost nothing

    def before(v: Any, p: Any) -> dict[str, Any]:
        price = p.agents.v["price"]
        return {"price": price, "publisher_gain": 0.0, "incentive": 0.0, "low": price, "ido_runup": 1.0,
                "eq_swing": 0.0, "gap_sum": 0.0, "settled_days": 0}  # fmt: skip

    def analyst(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        last, price = r["price"], p.pool.v["pa"]
        r["price"] = price
        value = publisher_value(r, p)
        r["publisher_gain"] = None if value is None else value - start_value
        r["incentive"] = None if value is None else r["publisher_gain"] + _unvested(p) * price
        if i <= IDO_DAYS:
            r["low"] = min(r["low"], price)
            r["ido_runup"] = max(r["ido_runup"], price / r["low"])
        if i >= SETTLED:
            r["gap_sum"] += abs(math.log(price / CONSUME_VALUE))
            r["settled_days"] += 1
            if i > SETTLED:
                r["eq_swing"] = max(r["eq_swing"], abs(price / last - 1))

    def honest(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
        """An honest publisher: it sells the DT it is paid back to the pool, and keeps its liquidity."""
        dt = v["wallet"]["DT"]
        if dt > 0:
            p.pool.sellA(dt)

    players = [
        {"key": "CONSUMERS", "desc": "Buy a DT and consume it when the price is at most their value.",
         "fn": lambda i, v, r, s, p: p.agents.consumers(i)},
        {"key": "STAKERS", "desc": "Stake OCEAN in the first month; leave after a while.",
         "fn": lambda i, v, r, s, p: p.agents.stakers(i)},
        {"key": "IDO_BUYERS", "desc": "Buy in the IDO's first week up to their value; sell on a rise or later.",
         "fn": lambda i, v, r, s, p: p.agents.ido_buyers(i)},
        {"key": "SPECULATORS", "desc": "Trade on three-day momentum.",
         "fn": lambda i, v, r, s, p: p.agents.speculators(i)},
        {"key": "ANALYST", "desc": "Records the price, the publisher's gain and the price's gap to the consume value.",
         "fn": analyst},
    ]  # fmt: skip
    variables = {
        "__title__": f"Ocean Market: {spec.title}",
        "mechanisms": {"name": "V4.1 Mechanisms in Use", "val": len(spec.mechanisms)},
        "dt_price": {"name": "DT Price", "val": lambda g, r: r["price"], "type": "OCEAN"},
        "publisher_gain": {"name": "Publisher's Gain", "val": lambda g, r: r["publisher_gain"], "type": "OCEAN"},
        "extraction": {"name": "Publisher's Gain over What Others Put In",
                       "val": lambda g, r: (r["publisher_gain"] or 0.0) / max(r["agents"]["others_in"], 1.0)},
        "incentive": {"name": "Publisher's Gain, Unvested Premine Included", "val": lambda g, r: r["incentive"],
                      "type": "OCEAN"},
        "ido_runup": {"name": "Largest IDO Price Rise (times its low so far)", "val": lambda g, r: r["ido_runup"]},
        "eq_swing": {"name": "Largest Daily Price Move, Settled", "val": lambda g, r: r["eq_swing"]},
        "decoupling": {"name": "Mean |ln(price / consume value)|, Settled",
                       "val": lambda g, r: r["gap_sum"] / max(r["settled_days"], 1)},
    }  # fmt: skip
    slot = {
        "goal": (
            f"You are the publisher of a dataset's datatoken on Ocean Market ({spec.title}) for its first {DAYS} days. "
            "You hold the pool shares (BPT) you seeded and some OCEAN; consumers pay you in DT. End with the most "
            "OCEAN value: your OCEAN, plus your DT and BPT at what selling them to the pool would fetch."
        ),
        "comp": "value",
        "wallet": {"OCEAN": launch.spare, "DT": 0.0, "BPT": 100.0 * launch.share},
        "quote": "OCEAN",
        "position": 0,
        "actions": {"pool": POOL_ACTIONS, "dt": ("mint",)},
        "observe": {"price": "agents.price", "staked": "agents.staked", "stakers_value": "agents.stakers_value"},
        "metrics": {kpi: _reader(kpi) for kpi in KPIS},
    }
    game = {
        "train": (0, 1, 2, 3, 4),
        "heldout": (1000, 1001, 1002),
        "random": True,
        "reference": honest,
        "tests": "A publisher's exit scam against the design's mechanisms, among random stakers, buyers and consumers.",
    }
    graphs = [
        {"key": "price", "name": "DT Price (OCEAN)", "lines": [{"label": "Price", "key": "price"}]},
        {"key": "pool", "name": "Pool Balances",
         "lines": [{"label": "DT", "key": "pool.ba"}, {"label": "OCEAN", "key": "pool.bb"}]},
        {"key": "stakers", "name": "Stakers (OCEAN)",
         "lines": [{"label": "Staked", "key": "agents.staked"}, {"label": "Holdings", "key": "agents.stakers_value"},
                   {"label": "Unstaked", "key": "agents.withdrawn"}]},
    ]  # fmt: skip
    return {
        "vars": variables,
        "components": components,
        "years": DAYS / 365,
        "players": players,
        "before": before,
        "slot": slot,
        "game": game,
        "graphs": graphs,
        "cols": [[{"title": "Outcome", "vals": ",".join(("dt_price", "publisher_gain", *KPIS))}]],
        "criteria": CRITERIA,
    }
