"""OceanDAO's policy in TokenSPICE's Web3 sustainability loop: fund R&D, grant OCEAN, burn or retire OCEAN.

The loop (`simcore.netlists.wsloop`, daily ticks) runs as a `netlist` plugin: marketplaces pay 0.2 % of their
sales to the network, 5 % of that buys and burns OCEAN and 95 % goes to OceanDAO, which also gets the minted OCEAN
and OPF's grants. TokenSPICE's OceanDAO passes it all to the workers as R&D, and R&D over sales sets how fast the
marketplaces grow, with diminishing returns. An analyst records the revenue-backed OCEAN price each day: what 30
times the network's last-year revenue is worth per OCEAN, speculation aside. `evolver simulate wsloop` runs the
netlist itself; this scenario is the game `evolver evolve wsloop` plays.
"""

from simcore.agents.netlist import S_PER_DAY

vars = {
    "__title__": "Web3 Sustainability Loop: OceanDAO's Policy",
    "__plugins__": {"wsloop": {"type": "netlist", "netlist": "wsloop", "tick": S_PER_DAY, "seat": "ocean_dao"}},
}

years = 10


def backed_price(kpis):
    """USD per OCEAN that the network's revenue alone backs: 30 times its last year over the OCEAN supply."""
    return kpis["fundamentals"] / kpis["supply"]


def before(p):
    return {"backed_price": backed_price(p.wsloop.v)}


def analyst(i, v, r, s, p):
    r["backed_price"] = backed_price(p.wsloop.v)


def after(r, p):
    r["backed_price"] = backed_price(p.wsloop.v)


players = [{"key": "ANALYST", "desc": "Records the revenue-backed OCEAN price each day.", "fn": analyst}]

graphs = [
    {"key": "price", "name": "OCEAN Price (USD)", "lines": [{"label": "OCEAN Price", "key": "wsloop.price"}]},
    {
        "key": "backed",
        "name": "Revenue-Backed OCEAN Price (USD)",
        "lines": [{"label": "Backed Price", "key": "backed_price"}],
    },
    {
        "key": "revenue",
        "name": "Monthly Network Revenue and R&D (USD)",
        "lines": [{"label": "Revenue", "key": "wsloop.revenue"}, {"label": "R&D", "key": "wsloop.rnd"}],
    },
    {
        "key": "supply",
        "name": "OCEAN Supply",
        "lines": [
            {"label": "Supply", "key": "wsloop.supply"},
            {"label": "Minted", "key": "wsloop.minted"},
            {"label": "Burned", "key": "wsloop.burned"},
        ],
    },
]

cols = [
    [
        {"title": "OCEAN", "vals": "wsloop_price,wsloop_supply,wsloop_minted,wsloop_burned"},
        {"title": "Network", "vals": "wsloop_revenue,wsloop_annual_revenue,wsloop_rnd,wsloop_rnd_to_sales"},
    ]
]


def pass_through(i, v, r, s, p):
    """OceanDAO as TokenSPICE wires it: everything it received goes to the workers as R&D."""
    wallet = v["wallet"]
    if wallet["USD"] > 0:
        p.wsloop.fund(wallet["USD"])
    if wallet["OCEAN"] > 0:
        p.wsloop.grant(wallet["OCEAN"])


slot = {
    "goal": (
        "Sit in OceanDAO's seat for 10 years: each day you receive its share of the network's revenue (USD) and the "
        "minted and granted OCEAN, and choose what to pay into the loop: R&D (fund USD, grant OCEAN), which grows the "
        "marketplaces with diminishing returns, or burning (burn USD for bought OCEAN, retire OCEAN). End with the "
        "highest revenue-backed OCEAN price: 30 times the network's last-year revenue over the OCEAN supply."
    ),
    "comp": "backed_price",
    "wallet": {"USD": 0, "OCEAN": 0},
    "quote": "USD",
    "actions": {"wsloop": ("fund", "grant", "burn", "retire")},
    "observe": {
        "price": "wsloop.price",
        "backed_price": "backed_price",
        "revenue": "wsloop.revenue",
        "rnd": "wsloop.rnd",
        "rnd_to_sales": "wsloop.rnd_to_sales",
        "growth": "wsloop.growth",
        "supply": "wsloop.supply",
        "dao_usd": "wsloop.dao_usd",
        "dao_ocean": "wsloop.dao_ocean",
    },
    "metrics": {"backed_price": lambda wallet, nvars: nvars["wsloop_fundamentals"] / nvars["wsloop_supply"]},
}
game = {
    "train": (0,),
    "random": False,
    "reference": pass_through,
    "tests": "A treasury policy: R&D with diminishing returns against burning, judged on the revenue-backed price.",
}
