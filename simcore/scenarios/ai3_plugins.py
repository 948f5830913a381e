"""The quick-guide pair through AI3's token and dex plugins: 10,000 $AI, a 100 $AI / 50 $USDC pool."""

from functools import partial

from simcore import optimum, references

vars = {
    "__title__": "$AI Token",
    "iaip": {"name": "Initial $AI Price", "val": lambda g: g("dex_usdc_il") / g("dex_ai_il")},
    "buy": {"name": "Total $AI Buy", "val": lambda g, r: r["total_buy"], "type": "AI"},
    "sell": {"name": "Total $AI Sell", "val": lambda g, r: r["total_sell"], "type": "AI"},
    "diff": {"name": "$AI Price Diff", "val": lambda g, r: r["diff"]},
    "__plugins__": {
        "ai": {"type": "token", "ticker": "AI", "supply": 10000},
        "dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50},
    },
}


def before(v):
    return {"total_buy": 0, "total_sell": 0}


def after(v, r, p):
    r["diff"] = p.dex.v["pa"] - v["iaip"]
    p.ai.v["price"] = p.dex.v["pa"]


def buyer(i, v, r, s, p):
    if p.dex.v["pa"] <= 1:
        p.dex.buyA(10)
        r["total_buy"] += 10
        s[i]["buy"] = 10


def seller(i, v, r, s, p):
    if p.dex.v["pa"] >= 1:
        p.dex.sellA(7)
        r["total_sell"] += 7
        s[i]["sell"] = 7


players = [
    {"key": "BUYER", "desc": "Buys 10 $AI from the DEX when its price is at or below $1.", "fn": buyer},
    {"key": "SELLER", "desc": "Sells 7 $AI to the DEX when its price is at or above $1.", "fn": seller},
]

graphs = [
    {"key": "price", "name": "$AI Price", "span": 7, "lines": [{"label": "$AI Price", "key": "dex.pa"}]},
    {
        "key": "dex",
        "name": "DEX Trades",
        "lines": [
            {"label": "$AI Sell", "key": "total_sell"},
            {"label": "$AI Buy", "key": "total_buy", "color": "#DC143C"},
        ],
    },
]

cols = [
    [
        {"title": "Projections", "vals": "iaip,diff,buy,sell"},
        {"title": "$AI Token", "vals": "ai_its,ai_p,ai_fdv"},
        {"title": "DEX", "vals": "dex_ai_il,dex_usdc_il,dex_k,dex_ai_l,dex_usdc_l"},
    ]
]

slot = {
    "goal": "Start with 50 USDC and end the year with as much USDC as possible.",
    "comp": "usdc",
    "direction": "max",
    "wallet": {"USDC": 50, "AI": 0},
    "quote": "USDC",
    "actions": {"dex": ("buyA", "sellA", "buyB", "sellB")},
    "observe": {
        "price": "dex.pa",
        "ai_liquidity": "dex.la",
        "usdc_liquidity": "dex.lb",
        "total_buy": "total_buy",
        "total_sell": "total_sell",
    },
}

game = {
    "train": (0,),
    "heldout": (),
    "optimum": partial(optimum.exact_optimum, buy_below=1, buy_size=10, sell_above=1, sell_size=7),
    "reference": references.ai3_reference,
    "tests": "Holding the price at the bots' $1 so both trade against you, with just the $AI stock that needs.",
}
