"""An AI resource economy: agents bid daily for compute, data and storage, priced by a bonding curve on their tokens.

The paper's AI-driven resource economy (seed 001, §7.4; the formulas with their sections are in
`simcore.plugins.resources`): twelve agents, each with a budget, an income, daily needs and preferences drawn per
seed, bid every day for three resources of limited daily capacity. A sealed-bid auction fills the bids at or above a
resource's posted price, highest limit first, at one clearing price; the posted price is a bonding curve on the
resource token's supply, minted for every unit bid for and burned for every unit produced. Producers earn what is
paid (less a protocol fee that funds a reward for capacity) and grow or shrink capacity with their margin. On day
180 a 30-day outage halves every capacity. One agent's seat is the evolved player's; `simcore.optimise` tunes the
curve (`econ_curve_*`) to the paper's §7.3 goal, the least volatile prices.
"""

from simcore.components import ResourceEconomy
from simcore.plugins import resources  # noqa: F401 - registers the resource_economy plugin kind

RESOURCES = ("compute", "data", "storage")

vars = {"__title__": "AI Resource Economy"}
components = {"econ": ResourceEconomy(rule="bonding", allocation="auction")}

years = 1


def reference(i, v, r, s, p):
    """Bid as the automatic agents do: each resource's need in four equal bids, each at the marginal value of its
    slice, value * (2 - (2m + 1) / 4) (the utility's slope there), those at or above today's price, all scaled down
    together when the wallet cannot reserve them."""
    econ = p["econ"]
    state = econ.v
    bids = []
    for name in ("compute", "data", "storage"):
        need, value, price = state["seat_need_" + name], state["seat_value_" + name], state["price_" + name]
        for m in range(4):
            limit = value * (2 - (2 * m + 1) / 4)
            if need > 0 and limit >= price:
                bids.append((name, need / 4, limit))
    cost = sum(qty * limit for _, qty, limit in bids)
    if cost <= 0:
        return
    scale = min(1.0, v["wallet"]["USD"] / cost) * 0.999999
    buy = {"compute": econ.buy_compute, "data": econ.buy_data, "storage": econ.buy_storage}
    for name, qty, limit in bids:
        if qty * scale > 0:
            buy[name](qty * scale, limit)


graphs = [
    {
        "key": "prices",
        "name": "Posted Prices (USD per unit)",
        "lines": [{"label": name.title(), "key": f"econ.price_{name}"} for name in RESOURCES],
    },
    {
        "key": "compute",
        "name": "Compute: Capacity, Demand and Allocation (units a day)",
        "lines": [
            {"label": "Capacity", "key": "econ.capacity_compute"},
            {"label": "Demand at the Price", "key": "econ.demand_compute"},
            {"label": "Allocated", "key": "econ.allocated_compute", "color": "#DC143C"},
        ],
    },
    {
        "key": "kpis",
        "name": "Utilisation and Unmet Need (so far)",
        "lines": [{"label": "Utilisation", "key": "econ.utilisation"}, {"label": "Unmet Need", "key": "econ.unmet"}],
    },
    {
        "key": "money",
        "name": "Payments (USD, cumulative)",
        "lines": [
            {"label": "Paid by Agents", "key": "econ.paid"},
            {"label": "Received by Producers", "key": "econ.producers"},
            {"label": "Treasury", "key": "econ.treasury", "color": "#DC143C"},
        ],
    },
]

cols = [
    [
        {"title": "Curve", "vals": "econ_curve_base,econ_curve_slope,econ_curve_exponent,econ_curve_supply"},
        {"title": "Economy", "vals": "econ_agents,econ_capacity,econ_income,econ_fee,econ_reward,econ_cost"},
        {"title": "Shock", "vals": "econ_shock_day,econ_shock_length,econ_shock_size,econ_tolerance"},
    ],
    [
        {"title": "Prices", "vals": "econ_volatility,econ_price_compute,econ_price_data,econ_price_storage"},
        {"title": "Allocation", "vals": "econ_utilisation,econ_unmet,econ_utility"},
        {"title": "Stability", "vals": "econ_deviation,econ_recovery,econ_recovered"},
        {"title": "Money", "vals": "econ_paid,econ_producers,econ_fees,econ_rewards,econ_treasury"},
    ],
]

slot = {
    "goal": (
        "Sit in one AI agent's seat for a year: each day you need some compute, data and storage (`need_compute`, "
        "...), valued by your preferences (`value_compute`, ...), and bid for them against eleven other agents in a "
        "sealed-bid auction at or above each posted price (`price`, the compute price, `price_data`, "
        "`price_storage`), paying from your income. End with the most value: the USD you kept plus the UTIL (utility"
        " in USD) your allocations earned."
    ),
    "comp": "value",
    "wallet": {"USD": 20, "UTIL": 0},
    "quote": "USD",
    "actions": {"econ": ("buy_compute", "buy_data", "buy_storage")},
    "observe": {
        "price": "econ.price_compute",
        "price_data": "econ.price_data",
        "price_storage": "econ.price_storage",
        **{f"need_{name}": f"econ.seat_need_{name}" for name in RESOURCES},
        **{f"value_{name}": f"econ.seat_value_{name}" for name in RESOURCES},
        **{f"capacity_{name}": f"econ.capacity_{name}" for name in RESOURCES},
    },
    "max_actions_per_day": 12,
}
game = {
    "train": (0, 1, 2, 3, 4),
    "heldout": (1000, 1001, 1002),
    "random": True,
    "reference": reference,
    "tests": "Bidding for resources against a demand schedule: shading limits and sizing bids to needs and budget.",
}
