"""A daily call auction between a market maker and noisy traders, trading $AI for $USDC at one price a day.

Each day the market maker quotes a bid and an ask `spread` around the last clearing price, and four traders
each post one order on a random side with a limit drawn `noise` around that price (log-normally). Sizes
and limits come from `p["rng"]`, so a seed replays the same market. Every order is cut to what 90% of its
owner's free balance can fund; the book clears at the day's end and unfilled orders expire.
"""

import math

TRADERS = ("alice", "bob", "carol", "dave")
MIN_QTY = 0.01  # smaller orders are not worth posting

vars = {
    "__title__": "$AI Call Auction",
    "spread": {"name": "Market Maker Spread", "val": 0.02},
    "noise": {"name": "Trader Limit Noise", "val": 0.05},
    "mm_value": {"name": "Market Maker Value", "val": lambda g, r: r["mm_value"], "type": "USDC"},
    "__plugins__": {
        "orderbook": {
            "type": "orderbook",
            "base": "AI",
            "quote": "USDC",
            "price": 1,
            "accounts": {"mm": {"base": 1000, "quote": 1000}} | {t: {"base": 200, "quote": 200} for t in TRADERS},
        },
    },
}


def market_value(book, owner):
    """The owner's balances marked at the last clearing price, in $USDC."""
    balance = book.balance(owner)
    return balance["quote"] + balance["base"] * book.v["price"]


def post(book, owner, side, qty, limit):
    """Post at most `qty`, cut to what 90% of the owner's free balance funds; skip dust."""
    free = book.balance(owner)
    qty = min(qty, 0.9 * (free["quote"] / limit if side == "bid" else free["base"]))
    if qty >= MIN_QTY:
        (book.bid if side == "bid" else book.ask)(owner, qty, limit)


def before(v, p):
    return {"mm_value": market_value(p.orderbook, "mm")}


def after(r, p):
    r["mm_value"] = market_value(p.orderbook, "mm")


def market_maker(i, v, r, s, p):
    book, rng = p.orderbook, p["rng"]
    r["mm_value"] = market_value(book, "mm")  # at the day's open: yesterday's orders have expired
    price, half = book.v["price"], v["spread"] / 2
    post(book, "mm", "bid", rng.uniform(5, 20), price * (1 - half))
    post(book, "mm", "ask", rng.uniform(5, 20), price * (1 + half))


def noisy_trader(owner):
    """A player that posts one order a day for `owner`: a random side, size and limit around the last price."""

    def fn(i, v, r, s, p):
        rng = p["rng"]
        side = rng.choice(("bid", "ask"))
        limit = p.orderbook.v["price"] * math.exp(rng.gauss(0, v["noise"]))
        post(p.orderbook, owner, side, rng.uniform(1, 10), limit)

    return fn


players = [
    {"key": "MM", "desc": "Quotes a bid and an ask `spread` around the last price.", "fn": market_maker},
    *(
        {"key": t.upper(), "desc": "Posts one random order a day around the last price.", "fn": noisy_trader(t)}
        for t in TRADERS
    ),
]

graphs = [
    {"key": "price", "name": "$AI Clearing Price", "lines": [{"label": "$AI Price", "key": "orderbook.price"}]},
    {
        "key": "volume",
        "name": "Daily $AI Volume",
        "lines": [
            {"label": "$AI Traded", "key": "orderbook.volume"},
            {"label": "$AI Unfilled", "key": "orderbook.unfilled_qty", "color": "#DC143C"},
        ],
    },
    {"key": "mm", "name": "Market Maker Value", "lines": [{"label": "$USDC", "key": "mm_value"}]},
]

cols = [
    [
        {"title": "Order Book", "vals": "orderbook_ip,orderbook_p,orderbook_vol"},
        {"title": "Market Maker", "vals": "spread,noise,mm_value"},
    ]
]

years = 1

slot = {
    "goal": "Start with 200 USDC and 200 AI and end the year with as much USDC as possible, trading in the auction.",
    "comp": "usdc",
    "wallet": {"USDC": 200, "AI": 200},
    "quote": "USDC",
    "actions": {"orderbook": ("bid", "ask", "cancel")},
    "observe": {"price": "orderbook.price", "volume": "orderbook.volume"},
}
game = {
    "train": (0, 1, 2, 3, 4),
    "heldout": (1000, 1001, 1002),
    "random": True,
    "tests": "Posting limit orders into a daily call auction against a market maker and noisy traders.",
}
