"""The background of the built-in market games: two threshold bots on a dex and a noise trader, drawn per seed.

The buyer buys `buy_size` $AI from the pool when its price is at or below `buy_below`; then the seller sells
`sell_size` $AI to it when the price is at or above `sell_above` (AI3's quick-guide pair, `ai3_plugins`, is
the case 1, 10, 1, 7). The noise trader, when a game has one, buys or sells a random amount each day. Every
parameter is a random variable (`simcore.variables.realise` draws it from the run's seed), and all of them are
hidden from the player (`HIDDEN`), who has to infer the market from what it sees of the pool.
"""

from __future__ import annotations

from typing import Any

# The games' default seeds. Ten to train on: with five, three of them markets with little to earn, a search
# overfitted its selection to the other two (a median held-out share of 63 % at 1000 evaluations; with ten, 73 %).
TRAIN, HELDOUT = tuple(range(10)), (1000, 1001, 1002, 1003, 1004)
HIDDEN = ("start_price", "dex_ai_il", "dex_usdc_il", "dex_k", "dex_ai_ip", "dex_usdc_ip",
          "buy_below", "buy_size", "sell_above", "sell_size")  # fmt: skip
NOISE_HIDDEN = ("dex_fee", "noise_size")


def market_vars(title: str, *, fee: bool = False, noise: bool = False) -> dict[str, Any]:
    """A threshold market's `vars`: its title, the $AI token and the $AI/USDC pool, the pool's starting reserves,
    the bots' thresholds and sizes, and with `fee` the pool's fee, with `noise` the noise trader's typical size,
    each drawn from the seed."""
    variables: dict[str, Any] = {
        "__title__": title,
        "__plugins__": {
            "ai": {"type": "token", "ticker": "AI", "supply": 10000},
            "dex": {"type": "dex", "tokenA": "AI", "tokenB": "USDC", "liquidityA": 100, "liquidityB": 50},
        },
        "dex_ai_il": {"name": "DEX $AI Initial Liquidity", "draw": lambda rng: rng.uniform(70, 130), "type": "AI"},
        "start_price": {"name": "Initial $AI Price", "draw": lambda rng: rng.uniform(0.4, 0.8), "type": "USDC"},
        "dex_usdc_il": {
            "name": "DEX $USDC Initial Liquidity",
            "val": lambda g: g("dex_ai_il") * g("start_price"),
            "type": "USDC",
        },
        "buy_below": {"name": "Buyer's Price Threshold", "draw": lambda rng: rng.uniform(0.8, 1.2), "type": "USDC"},
        "buy_size": {"name": "Buyer's Daily Buy", "draw": lambda rng: rng.randint(5, 15), "type": "AI"},
        "sell_above": {"name": "Seller's Price Threshold", "draw": lambda rng: rng.uniform(0.8, 1.2), "type": "USDC"},
        "sell_size": {"name": "Seller's Daily Sell", "draw": lambda rng: rng.randint(3, 12), "type": "AI"},
    }
    if fee:
        variables["dex_fee"] = {"name": "DEX Fee", "draw": lambda rng: rng.uniform(0.001, 0.01)}
    if noise:
        variables["noise_size"] = {"name": "Noise Trader's Typical Trade", "draw": lambda rng: rng.uniform(2, 8)}
    return variables


def before(v: Any) -> dict[str, Any]:
    """The bots' running totals (what the player may observe of them)."""
    return {"total_buy": 0, "total_sell": 0, "noise": 0}


def buyer(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """Buys `buy_size` $AI when the price is at or below `buy_below`."""
    if p.dex.v["pa"] <= v["buy_below"]:
        p.dex.buyA(v["buy_size"])
        r["total_buy"] += v["buy_size"]


def seller(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """Sells `sell_size` $AI when the price is at or above `sell_above`."""
    if p.dex.v["pa"] >= v["sell_above"]:
        p.dex.sellA(v["sell_size"])
        r["total_sell"] += v["sell_size"]


def noise(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """On seven days in ten, buys or sells (even odds) an exponential amount of $AI around `noise_size`, at most
    a quarter of the pool."""
    rng = p["rng"]
    if rng.random() < 0.7:
        amount = min(rng.expovariate(1 / v["noise_size"]), p.dex.v["la"] / 4)
        if rng.random() < 0.5:
            p.dex.buyA(amount)
            r["noise"] += amount
        else:
            p.dex.sellA(amount)
            r["noise"] -= amount


BOTS = [
    {"key": "BUYER", "desc": "Buys a fixed amount of $AI from the DEX when its price is at or below a threshold "
     "(amount and threshold hidden, drawn per seed).", "fn": buyer},
    {"key": "SELLER", "desc": "Then sells a fixed amount of $AI to the DEX when its price is at or above a threshold "
     "(amount and threshold hidden, drawn per seed).", "fn": seller},
]  # fmt: skip
NOISE = {"key": "NOISE", "desc": "On most days buys or sells a random amount of $AI (hidden scale).", "fn": noise}

GRAPHS = [
    {"key": "price", "name": "$AI Price", "span": 7, "lines": [{"label": "$AI Price", "key": "dex.pa"}]},
    {
        "key": "dex",
        "name": "Bots' $AI Trades",
        "lines": [
            {"label": "$AI Sold", "key": "total_sell"},
            {"label": "$AI Bought", "key": "total_buy", "color": "#DC143C"},
        ],
    },
]

OBSERVE = {
    "price": "dex.pa",
    "ai_liquidity": "dex.la",
    "usdc_liquidity": "dex.lb",
    "total_buy": "total_buy",
    "total_sell": "total_sell",
}
GOAL = (
    "Start with 50 USDC and end the year with as much USDC as possible. The pool's starting reserves and the bots' "
    "thresholds and trade sizes{extra} are drawn per seed and hidden: infer them from what you observe."
)


def slot(goal: str, hidden: tuple[str, ...]) -> dict[str, Any]:
    """The player's slot in a threshold market: 50 USDC, every dex action, the pool and the bots' totals seen."""
    return {
        "goal": goal,
        "comp": "usdc",
        "direction": "max",
        "wallet": {"USDC": 50, "AI": 0},
        "quote": "USDC",
        "actions": {"dex": ("buyA", "sellA", "buyB", "sellB")},
        "observe": OBSERVE,
        "hidden": hidden,
    }
