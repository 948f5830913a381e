"""AI3's README quick guide: a buyer and a seller trading $AI for $USDC around a price of $1."""

vars = {
    "iail": {"name": "Initial $AI Liquidity", "val": 100, "type": "AI"},
    "iusdcl": {"name": "Initial $USDC Liquidity", "val": 50, "decimal": 0},
    "iaip": {"name": "Initial $AI Price", "val": lambda g: g("iusdcl") / g("iail"), "calc": "IUSDCL / IAIL"},
    "ail": {"name": "$AI Liquidity", "val": lambda g, r: r["ai"], "type": "AI"},
    "usdcl": {"name": "$USDC Liquidity", "val": lambda g, r: r["usdc"], "decimal": 0},
    "aip": {"name": "$AI Price", "val": lambda g, r: r["usdc"] / r["ai"], "color": "crimson"},
    "buy": {"name": "Total $AI Buy", "val": lambda g, r: r["total_buy"], "type": "AI"},
    "sell": {"name": "Total $AI Sell", "val": lambda g, r: r["total_sell"], "type": "AI"},
    "diff": {"name": "$AI Price Diff", "val": lambda g, r: r["diff"]},
}


def before(v):
    return {
        "price": v["iusdcl"] / v["iail"],
        "ai": v["iail"],
        "usdc": v["iusdcl"],
        "total_buy": 0,
        "total_sell": 0,
    }


def after(v, r, s):
    r["diff"] = r["price"] - s[0]["price"]  # the $AI price difference over the run


def buyer(i, v, r, s, p):
    if r["price"] <= 1:
        ai = r["ai"] - 10
        usdc = r["usdc"] * r["ai"] / ai
        r["ai"] = ai
        r["usdc"] = usdc
        r["price"] = usdc / ai
        r["total_buy"] += 10
        s[i]["buy"] = 10


def seller(i, v, r, s, p):
    if r["price"] >= 1:
        ai = r["ai"] + 7
        usdc = r["usdc"] * r["ai"] / ai
        r["ai"] = ai
        r["usdc"] = usdc
        r["price"] = usdc / ai
        r["total_sell"] += 7
        s[i]["sell"] = 7


players = [
    {"key": "BUYER", "desc": "Buys 10 $AI when the price is at or below $1.", "fn": buyer},
    {"key": "SELLER", "desc": "Sells 7 $AI when the price is at or above $1.", "fn": seller},
]

graphs = [
    {"key": "price", "name": "$AI Price", "span": 7, "lines": [{"label": "$AI Price", "key": "price"}]},
    {
        "key": "dex",
        "name": "DEX Trades",
        "lines": [
            {"label": "$AI Sell", "key": "total_sell"},
            {"label": "$AI Buy", "key": "total_buy", "color": "#DC143C"},
        ],
    },
]

cols = [[{"title": "Projections", "vals": "iail,iusdcl,iaip,aip,diff,ail,usdcl,buy,sell"}]]
