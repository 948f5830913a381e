"""A seed round vesting into a DEX with buyers.

1,000,000 $AI, a 100,000 $AI / 50,000 $USDC pool ($0.50), and a seed round of 10% at a $200,000 valuation
($0.20 a token), vesting over 12 months after a 3-month cliff. The VC unlocks daily and sells whatever keeps
its average fill at or above $0.60; buyers spend a random amount of $USDC on $AI every day.
"""

vars = {
    "__title__": "$AI Seed Round",
    "buy_max": {"name": "Largest Daily Buy", "val": 200, "type": "USDC"},
    "bought": {"name": "Total $USDC Spent by Buyers", "val": lambda g, r: r["bought"], "type": "USDC"},
    "seed_roi": {"name": "Seed Return Multiple", "val": lambda g, r: r["seed"]["gain"] / g("seed_s")},
    "__plugins__": {
        "ai": {"type": "token", "ticker": "AI", "supply": 1_000_000},
        "dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100_000, "liquidityB": 50_000},
        "seed": {
            "type": "vc",
            "round": "Seed",
            "token": "ai",
            "per": 10,
            "val": 200_000,
            "vesting": 12,
            "cliff": 3,
            "sell": 0.6,
        },
    },
}

years = 2


def before(v):
    return {"bought": 0}


def after(p):
    p.ai.v["price"] = p.dex.v["pa"]


def vc(i, v, r, s, p):
    p.seed.unlock(i)
    p.seed.sell(p.dex)


def buyers(i, v, r, s, p):
    # spend `usdc` on $AI: the constant-product amount it buys never reaches the pool's whole $AI side
    usdc = p["rng"].uniform(0, v["buy_max"])
    dex = p.dex.v
    ai = dex["la"] - dex["k"] / (dex["lb"] + usdc * (1 - v["dex_fee"]))
    if ai > 0:
        p.dex.buyA(ai)
        r["bought"] += usdc


players = [
    {"key": "VC", "desc": "Unlocks the day's tranche and sells to keep an average fill of at least $0.60.", "fn": vc},
    {"key": "BUYERS", "desc": "Spend a random amount of $USDC, up to `buy_max`, on $AI each day.", "fn": buyers},
]

graphs = [
    {"key": "price", "name": "$AI Price", "lines": [{"label": "$AI Price", "key": "dex.pa"}]},
    {
        "key": "vesting",
        "name": "Seed Tokens",
        "lines": [
            {"label": "Unlocked", "key": "seed.unlocked"},
            {"label": "Sold", "key": "seed.sold", "color": "#DC143C"},
            {"label": "Locked", "key": "seed.locked"},
        ],
    },
    {
        "key": "gain",
        "name": "Seed Proceeds ($USDC)",
        "lines": [{"label": "VC Gain", "key": "seed.gain"}, {"label": "Buyers' Spend", "key": "bought"}],
    },
]

cols = [
    [
        {"title": "Seed Round", "vals": "seed_p,seed_v,seed_vp,seed_c,seed_sp,seed_s,seed_tp"},
        {"title": "Outcome", "vals": "dex_ai_p,seed_unlocked,seed_sold,seed_gain,seed_roi,bought"},
    ]
]

slot = {
    "goal": "Start with 1,000 USDC and end the two years with as much USDC as possible.",
    "comp": "usdc",
    "direction": "max",
    "wallet": {"USDC": 1000, "AI": 0},
    "quote": "USDC",
    "actions": {"dex": ("buyA", "sellA", "buyB", "sellB")},
    "observe": {
        "price": "dex.pa",
        "ai_liquidity": "dex.la",
        "usdc_liquidity": "dex.lb",
        "vc_unlocked": "seed.unlocked",
        "vc_sold": "seed.sold",
        "buyers_spent": "bought",
    },
}

game = {
    "train": (0, 1, 2),
    "heldout": (1000, 1001),
    "random": True,  # the buyers draw their daily spend from the run's generator
    "tests": "trading around a VC's daily unlocks and random buyers over two years",
}
