"""Buyers and sellers on a bonding curve.

$CURVE is minted and burned against a $USDC reserve along a sigmoid price curve that rises from almost $0
to $1, half-way at a supply of 500,000. 100,000 $CURVE exist at the start. Every day buyers spend a random
amount of $USDC on the curve and holders sell a random share of the supply back to it.
"""

from simcore.components import SigmoidBondingCurve

vars = {
    "__title__": "$CURVE Bonding Curve",
    # the curve starts at the token's supply, so a fuzz of `curve_its` moves both
    "bond_is": {"name": "Bonding Initial Supply", "val": lambda g: g("curve_its")},
    "spend_max": {"name": "Largest Daily Buy", "val": 2_000, "type": "USDC"},
    "sell_max": {"name": "Largest Daily Sell (% of supply)", "val": 1},
    "spent": {"name": "Total $USDC Spent", "val": lambda g, r: r["spent"], "type": "USDC"},
    "received": {"name": "Total $USDC Received by Sellers", "val": lambda g, r: r["received"], "type": "USDC"},
    "__plugins__": {
        "curve": {"type": "token", "ticker": "CURVE", "supply": 100_000},
    },
}
components = {  # the curve: its parameters are the variables bond_cap, bond_b, bond_mid; it runs as a bonding plugin
    "bond": SigmoidBondingCurve(cap=1, b=1e-5, mid=500_000, token="curve", currency="USDC"),
}

years = 1


def before(v):
    return {"spent": 0, "received": 0}


def after(p):
    p.curve.v["price"] = p.bond.price


def buyers(i, v, r, s, p):
    usdc = p["rng"].uniform(0, v["spend_max"])
    if usdc > 0:
        p.bond.spend(usdc)
        r["spent"] += usdc


def sellers(i, v, r, s, p):
    tokens = p["rng"].uniform(0, v["sell_max"] / 100) * p.bond.v["supply"]
    if tokens > 0:
        r["received"] += p.bond.sell(tokens)


players = [
    {"key": "BUYERS", "desc": "Spend a random amount of $USDC, up to `spend_max`, on the curve.", "fn": buyers},
    {"key": "SELLERS", "desc": "Sell a random share of the supply, up to `sell_max` %, to the curve.", "fn": sellers},
]

graphs = [
    {"key": "price", "name": "$CURVE Price", "lines": [{"label": "$CURVE Price", "key": "bond.price"}]},
    {"key": "supply", "name": "$CURVE Supply", "lines": [{"label": "Supply", "key": "bond.supply"}]},
    {
        "key": "reserve",
        "name": "$USDC",
        "lines": [
            {"label": "Reserve", "key": "bond.reserve"},
            {"label": "Spent by Buyers", "key": "spent"},
            {"label": "Received by Sellers", "key": "received", "color": "#DC143C"},
        ],
    },
]

cols = [
    [
        {"title": "Curve", "vals": "bond_cap,bond_b,bond_mid,bond_is,bond_ir"},
        {"title": "Outcome", "vals": "bond_s,bond_p,bond_r,bond_mc,spent,received,curve_ts"},
    ]
]

slot = {
    "goal": "Start with 1,000 USDC and end the year with as much USDC as possible, trading $CURVE on the curve.",
    "comp": "usdc",
    "wallet": {"USDC": 1000, "CURVE": 0},
    "quote": "USDC",
    "actions": {"bond": ("buy", "sell", "spend")},
    "observe": {"price": "bond.price", "supply": "bond.supply", "reserve": "bond.reserve"},
}
game = {
    "train": (0, 1, 2, 3, 4),
    "heldout": (1000, 1001, 1002),
    "random": True,
    "tests": "Timing buys and sells on a curve the random buyers and sellers move, against your own price impact.",
}
