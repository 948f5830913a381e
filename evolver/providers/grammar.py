"""A small grammar of trading rules for a slot: what `local:gp` starts from and `local:random` samples.

A drawn program has two helpers (`mean` and `change` of the price history) and one `fn` in two parts.
The *preamble* reads the market once a day into fixed names (`FEATURES`: the price signal, holdings, a
price history kept in the player's own `r`, the first price seen, the share of value held in the token).
The *decision chain* is an if/elif chain of rules, each one condition and one trade, so at most one
action is taken a day. Rule families: thresholds on the price against the first price seen, bands around
a moving average, moving-average crossovers, momentum, DCA (buy every k days), rebalancing to a target
share of value, and keeping a stock of tokens (an inventory target). On a constant-product pool two more
families trade *to a price* (the helper `trade_to` works out the one trade that moves the pool there): a
market maker's band around a price level, whose lower edge it sells down to while its stock is at least
some level and whose upper edge it buys back up to while it is short, and pushing the price back to its
moving average. An optional first rule sells everything near the end of the year. Where the slot offers actions
that are no trade (a publisher's `mint`, a pool's `joinA` or `exitB`), a program may start with up to two one-off
rules, each calling one of them once, on a day, with an amount. Every tunable constant (levels, bands, stocks,
windows, sizes, days) is in the chain, so that is where mutation and tuning look.

Every trade is safe by construction: amounts are wrapped in `max(..., MIN_AMOUNT)` so they are positive,
and a trade the wallet cannot pay for is refused softly by the slot. Mutation may change any constant or
comparison of the chain without making a program invalid.

A market whose actions are no buys or sells by name but payments into it (a policy's seat: `fund`, `burn`,
`grant`, ...) is traded by what each action pays: a rule on the buy side pays the quote (its amount the rule's
token amount at today's price, at most the cash), one on the sell side pays tokens, each drawing one of the
side's actions.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from evolver.errors import ProviderError
from evolver.providers.base import ProposalContext
from evolver.syntax import parse
from simcore import markets
from simcore.plugins.base import PluginSpec

FEATURES = ("price", "wallet", "held", "cash", "hist", "ref", "worth", "share", "units", "last")
"""The names every grammar program's preamble assigns; a rule may use any of them."""

MIN_AMOUNT = 0.01
SIDES = ("buy", "sell")

Rule = tuple[str, str]  # (condition, amount expression), both Python source over FEATURES


@dataclass(frozen=True)
class Market:
    """What a program trades, read from the slot: the signal, the market's actions and the wallet's tickers.

    `buy`/`sell` are action names on the plugin `key` (None when the slot does not offer that side). The
    token is what the actions trade and the quote what pays for it: what the market says a buy's amount and result
    count (`Market.units`) when it names both and the wallet holds them, else the quote is the ticker the wallet
    starts with most of, and the token the first other one.
    """

    signal: str
    key: str
    buy: str | None
    sell: str | None
    token: str
    quote: str
    days: int = 365  # the run's last day
    pool: tuple[str, str] | None = None  # a constant-product pool's state keys: the token's reserve, the quote's
    watched: tuple[str, ...] = ()  # the other numbers it observes, on a pool: what a bracket (`edge`) may watch
    limit: bool = False  # whether its actions take a limit price after the amount (an order book's bid and ask)
    payments: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # a payments market's actions paying quote, token
    extras: tuple[tuple[str, str], ...] = ()  # (plugin key, action): the slot's one-amount actions that are no trade

    def side(self, side: str) -> str | None:
        return self.buy if side == "buy" else self.sell


def market_of(context: ProposalContext) -> Market:
    """The market the grammar trades on in this slot; ProviderError when the slot offers no buy or sell (by name
    or by what it pays)."""
    named = _actions(context.actions)
    key, buy, sell = named or _payments(context)
    tickers = sorted(context.wallet, key=lambda ticker: -context.wallet[ticker])
    if not tickers:
        raise ProviderError("local generators need the slot's wallet; the context has none")
    token, quote = next((ticker for ticker in tickers if ticker != tickers[0]), tickers[0]), tickers[0]
    market = _market_type(context, key)
    if named and market is not None and key in context.tickers:
        amount, result = market.units(buy or sell, context.tickers[key])
        if result is not None and amount != result and {amount, result} <= set(context.wallet):
            token, quote = amount, result
    pool = None
    if context.kinds.get(key) == "dex" and (buy, sell) in (("buyA", "sellA"), ("buyB", "sellB")):
        pool = ("la", "lb") if buy == "buyA" else ("lb", "la")
    signal = _signal(context.observables)
    watched = tuple(name for name in context.observed if name != signal) if pool else ()
    limit = market is not None and "limit" in market.actions[buy or sell].params
    payments = ((), ()) if named else _paying(context, key)
    extras = _extras(context, {(key, buy), (key, sell)}) if named else ()
    return Market(signal, key, buy, sell, token, quote, context.days, pool, watched, limit, payments, extras)


TRADES = ("buy", "sell", "bid", "ask", "cancel", "spend")
"""Prefixes of the actions a program's rules trade with (or an order's cancel): no one-off rule takes them."""


def _extras(context: ProposalContext, traded: set[tuple[str, str | None]]) -> tuple[tuple[str, str], ...]:
    """The slot's actions that are no trade (a publisher's `mint`, a pool's `joinA` or `exitB`) and take one amount:
    what a program's one-off rules may call."""
    found = []
    for key, names in context.actions.items():
        market = _market_type(context, key)
        for name in names:
            one_amount = market is not None and len(market.actions[name].params) == 1
            if (key, name) not in traded and not name.startswith(TRADES) and one_amount:
                found.append((key, name))
    return tuple(found)


def _market_type(context: ProposalContext, key: str) -> type[markets.Market] | None:
    """The market class of the plugin `key`, if the context names its kind."""
    return PluginSpec.registry[context.kinds[key]].market if key in context.kinds else None


def _signal(observables: tuple[str, ...]) -> str:
    """The observable to trade on: `price`, else the shortest name holding "price", else the first one
    (the rules divide by it, so a slot without a price-like observable may get players that fail)."""
    names = [name for name in observables if name != "wallet"]
    priced = sorted((name for name in names if "price" in name.lower()), key=len)
    if "price" in names:
        return "price"
    if priced or names:
        return (priced or names)[0]
    raise ProviderError("local generators need an observable to trade on; the slot observes nothing")


def _actions(actions: dict[str, tuple[str, ...]]) -> tuple[str, str | None, str | None] | None:
    """(plugin key, buy action, sell action): the first plugin offering a buy or a sell (an order book's bid or
    ask), token A preferred; None when no plugin does."""
    for key, names in actions.items():
        buys = sorted(name for name in names if name.startswith("buy") or name == "bid")
        sells = sorted(name for name in names if name.startswith("sell") or name == "ask")
        if buys or sells:
            buy = buys[0] if buys else None
            paired = "ask" if buy == "bid" else f"sell{buy[3:]}" if buy else None
            sell = paired if paired in sells else (sells[0] if sells else None)
            return key, buy, sell
    return None


def _payments(context: ProposalContext) -> tuple[str, str | None, str | None]:
    """(plugin key, first action paying the quote, first paying the token): the first plugin whose actions pay
    into it (`_paying`); ProviderError when none does."""
    for key in context.actions:
        buys, sells = _paying(context, key)
        if buys or sells:
            return key, next(iter(buys), None), next(iter(sells), None)
    offered = {key: list(names) for key, names in context.actions.items()}
    raise ProviderError(f"local generators need a buy or sell action; the slot offers {offered}")


def _paying(context: ProposalContext, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The slot's actions on the plugin `key` whose amount is paid in its quote, and those paid in its token, by
    what the market says each amount counts (`Market.units`: a market trades its first ticker for its second)."""
    market = _market_type(context, key)
    if market is None:
        return (), ()
    offered = [name for name in context.actions[key] if name in market.actions]
    paid = {name: market.units(name, ("token", "quote"))[0] for name in offered}
    return tuple(n for n in sorted(paid) if paid[n] == "quote"), tuple(n for n in sorted(paid) if paid[n] == "token")


def _uniform(rng: random.Random, low: float, high: float) -> float:
    return float(f"{rng.uniform(low, high):.3g}")


def _threshold(rng: random.Random, side: str) -> Rule:
    level = _uniform(rng, 0.6, 1.9)
    return (f"price < ref * {level}", "") if side == "buy" else (f"price > ref * {level}", "")


def _windows(rng: random.Random) -> tuple[int, int]:
    fast = rng.randint(1, 6)
    return fast, rng.randint(fast + 2, 40)


def _band(rng: random.Random, side: str) -> Rule:
    window = _windows(rng)[1]
    if side == "buy":
        return f"price < mean(hist, {window}) * {_uniform(rng, 0.85, 1.0)}", ""
    return f"price > mean(hist, {window}) * {_uniform(rng, 1.0, 1.15)}", ""


def _trend(rng: random.Random, side: str) -> Rule:
    fast, slow = _windows(rng)
    if side == "buy":
        return f"mean(hist, {fast}) > mean(hist, {slow}) * {_uniform(rng, 1.0, 1.1)}", ""
    return f"mean(hist, {fast}) < mean(hist, {slow}) * {_uniform(rng, 0.9, 1.0)}", ""


def _momentum(rng: random.Random, side: str) -> Rule:
    up, down, lag = _uniform(rng, 1.0, 1.15), _uniform(rng, 0.85, 1.0), rng.randint(1, 10)
    follow = rng.random() < 0.5  # trend-following, or contrarian
    if side == "buy":
        return (f"change(hist, {lag}) > {up}" if follow else f"change(hist, {lag}) < {down}"), ""
    return (f"change(hist, {lag}) < {down}" if follow else f"change(hist, {lag}) > {up}"), ""


def _dca(rng: random.Random, side: str) -> Rule:
    if side == "buy":
        return f"i % {rng.randint(1, 30)} == 0", ""
    return _threshold(rng, side)


def _rebalance(rng: random.Random, side: str) -> Rule:
    target, band = _uniform(rng, 0.05, 0.95), _uniform(rng, 0.02, 0.2)
    if side == "buy":
        return f"share < {target} - {band}", f"({target} * worth - held * price) / price"
    return f"share > {target} + {band}", f"(held * price - {target} * worth) / price"


def _level(rng: random.Random) -> str:
    """A price level, scale-free: the first price seen times a log-uniform factor in [1/3, 3]."""
    return f"ref * {float(f'{math.exp(rng.uniform(-math.log(3), math.log(3))):.3g}')}"


def _stock(rng: random.Random) -> str:
    """An inventory level in tokens, scale-free: a log-uniform share (2% to 100%) of the start's worth in tokens."""
    return f"units * {_fraction(rng) * 2:.3g}"


def _target(rng: random.Random, side: str, market: Market) -> Rule:
    """Hold the pool's price in a band around a level: at its lower edge while the stock is at least some level
    (selling it down), at its upper edge while the stock is short (buying it back). The level is a price, or half
    the time the price at or below which an observed number rises (`edge`: a threshold learned from the run); half
    the time the upper edge is above another learned price too, one at or above which a number rises."""
    width = float(f"{math.exp(rng.uniform(math.log(1e-4), math.log(0.1))):.3g}")  # one constant for both edges
    level, high = _level(rng), "0"
    if market.watched and rng.random() < 0.5:
        level = f"edge(r, {rng.choice(market.watched)!r}, {level}, {_uniform(rng, 1.01, 1.2)})"
    if market.watched and rng.random() < 0.5:
        high = f"edge_above(r, {rng.choice(market.watched)!r}, {_level(rng)}, {_uniform(rng, 1.01, 1.2)})"
    return "True", f"band({level}, {high}, {width}, held < {_stock(rng)})"


def _reversion(rng: random.Random, side: str, market: Market) -> Rule:
    """Push the price back to its moving average when it strays from it by more than a band."""
    window, band = _windows(rng)[1], _uniform(rng, 1.0, 1.2)
    if side == "sell":
        return f"price > mean(hist, {window}) * {band}", f"mean(hist, {window}) * {band}"
    return f"price < mean(hist, {window}) / {band}", f"mean(hist, {window}) / {band}"


def _inventory(rng: random.Random, side: str) -> Rule:
    """Keep a stock of tokens: buy up to it below it, sell down to it above it."""
    stock = _stock(rng)
    if side == "buy":
        return f"held < {stock}", f"{stock} - held"
    return f"held > {stock}", f"held - {stock}"


PRICED: dict[str, Callable[[random.Random, str, Market], Rule]] = {"target": _target, "reversion": _reversion}
"""Families whose rules move a constant-product pool's price to a level (the rule's second part is the level)."""

FAMILIES: dict[str, Callable[[random.Random, str], Rule]] = {
    "threshold": _threshold,
    "band": _band,
    "trend": _trend,
    "momentum": _momentum,
    "dca": _dca,
    "rebalance": _rebalance,
    "inventory": _inventory,
}


WEIGHTS = {"target": 3.0, "reversion": 2.0}
"""How much likelier than the others (1) a family is drawn: a market maker's rules, trading to a price, come first."""


def _families(market: Market) -> list[str]:
    """The families the market's rules can be drawn from: the PRICED ones only on a constant-product pool."""
    return [*FAMILIES, *(PRICED if market.pool else ())]


def _family(market: Market, rng: random.Random) -> str:
    names = _families(market)
    return rng.choices(names, [WEIGHTS.get(name, 1.0) for name in names])[0]


def _fraction(rng: random.Random) -> float:
    """A share of a balance, log-uniform in [2%, 50%]: small trades move a small pool less."""
    return float(f"{math.exp(rng.uniform(math.log(0.02), math.log(0.5))):.3g}")


def _amount(rng: random.Random, side: str) -> str:
    """A trade's size in token units, scale-free: a share of the whole wallet's value (a fixed size, as DCA
    buys), of the cash (buy) or of the tokens held (sell)."""
    if rng.random() < 0.5:
        return f"worth * {_fraction(rng)} / price"
    return f"cash * {_fraction(rng)} / price" if side == "buy" else f"held * {_fraction(rng)}"


def _branch(market: Market, side: str, condition: str, amount: str, limit: str = "", action: str | None = None) -> str:
    """One rule as an `if` statement: a guarded condition and one safe trade (with a limit price, on a market whose
    actions take one; of the quote's worth of `amount`, at most the cash, on a payments market's buy side)."""
    trade = f"p[{market.key!r}].{action or market.side(side)}"
    if side == "buy" and market.payments[0]:
        worth = amount.removesuffix(" / price") if amount.endswith(" / price") else f"({amount}) * price"
        return f"if {condition} and cash > 0:\n    {trade}(max(min(cash, {worth}), {MIN_AMOUNT}))\n"
    if side == "buy":
        return f"if {condition} and cash > 0:\n    {trade}(max({amount}, {MIN_AMOUNT}){limit})\n"
    return f"if {condition} and held > 0:\n    {trade}(max(min(held, {amount}), {MIN_AMOUNT}){limit})\n"


def _action(market: Market, rng: random.Random, side: str) -> str | None:
    """The action a rule on `side` takes: the side's, or one drawn from a payments market's several."""
    several = market.payments[SIDES.index(side)]
    return rng.choice(several) if len(several) > 1 else market.side(side)


def _limit(market: Market, rng: random.Random, side: str) -> str:
    """An order's limit price as a factor of today's price, a little above it for a bid and below it for an ask
    (so it is likely to fill), or nothing on a market whose actions take no limit."""
    if not market.limit:
        return ""
    return f", price * {_uniform(rng, 1.0, 1.05) if side == 'buy' else _uniform(rng, 0.95, 1.0)}"


def draw_rule(market: Market, rng: random.Random, side: str | None = None, family: str | None = None) -> ast.If:
    """One rule of the decision chain, drawn from the grammar (a random side and family unless given)."""
    side = side or rng.choice([s for s in SIDES if market.side(s)])
    family = family if family in _families(market) else _family(market, rng)
    if family in PRICED:
        condition, level = PRICED[family](rng, side, market)
        return _statement(f"if {condition}:\n    trade_to(p[{market.key!r}], {level}, held, cash)\n")
    condition, amount = FAMILIES[family](rng, side)
    if not amount or rng.random() < 0.2:
        amount = _amount(rng, side)
    return _statement(_branch(market, side, condition, amount, _limit(market, rng, side), _action(market, rng, side)))


def _one_offs(market: Market, rng: random.Random) -> list[ast.If]:
    """Up to two one-off rules, each calling an action that is no trade once, on a drawn day, with an amount drawn
    log-uniformly in [1, 10,000] (both constants tuned like any other): how a program finds what a publisher's
    `mint` or a pool's `exitB` can do for it."""
    if not market.extras:
        return []
    drawn = rng.sample(market.extras, min(len(market.extras), rng.randint(0, 2)))
    return [
        _statement(f"if i == {rng.randint(1, market.days)}:\n    p[{key!r}].{action}({_uniform_log(rng)})\n")
        for key, action in drawn
    ]


def _uniform_log(rng: random.Random) -> float:
    return float(f"{math.exp(rng.uniform(0.0, math.log(1e4))):.3g}")


def _liquidation(market: Market, rng: random.Random) -> ast.If | None:
    """Sell everything in the run's last days, so it ends in the quote (what a balance comp scores); the days are
    counted back from the last one, so tuning them never moves the sale out of the run."""
    if not market.sell or rng.random() < 0.2:
        return None
    trade = f"p[{market.key!r}].{_action(market, rng, 'sell')}(max(held, {MIN_AMOUNT}){_limit(market, rng, 'sell')})"
    return _statement(f"if i >= last - {rng.randint(2, 35)} and held > 0:\n    {trade}\n")


HELPERS = """
def mean(xs, n):
    tail = xs[-n:]
    return sum(tail) / len(tail)

def change(xs, n):
    return xs[-1] / xs[-min(n + 1, len(xs))]
"""
HELPER_NAMES = ("mean", "change")

TRADE_TO = """
def trade_to(market, price, held, cash):
    pool = market.v
    token, quote = pool[{token!r}], pool[{quote!r}]
    move = (token * quote / price) ** 0.5 - token
    if move > 0 and held > 0:
        market.{sell}(max(min(held, move), {floor}))
    elif move < 0 and cash > 0:
        market.{buy}(max(min(-move, token * cash / (quote + cash) * 0.999), {floor}))
"""
"""For a constant-product pool: the one trade that moves its price to `price` (a fee aside), as far as the wallet
allows. The grammar's rules of the PRICED families call it."""

BRACKETS = """
def track(r, v, keys):
    left = r.get('left', 0)
    now = {key: v[key] for key in keys if isinstance(v[key], (int, float))}
    moved = [key for key in now if now[key] != r.get('was_' + key, now[key])]
    for key in now:
        was = r.get('was_' + key)
        if left and was is not None:
            if now[key] > was:
                r['hi_' + key] = max(r.get('hi_' + key, 0), left)
                if moved == [key]:
                    r['top_' + key] = min(r.get('top_' + key, left), left)
                    if r.get('bot_' + key, 0) >= left:
                        r['bot_' + key] = 0
            else:
                r['lo_' + key] = min(r.get('lo_' + key, left), left)
                r['bot_' + key] = max(r.get('bot_' + key, 0), left)
                if r.get('top_' + key, 0) and r['top_' + key] <= left:
                    r['top_' + key] = 0
        r['was_' + key] = now[key]

def edge(r, key, guess, step):
    hi, lo = r.get('hi_' + key, 0), r.get('lo_' + key, 0)
    if hi and lo and hi < lo:
        return (hi + lo) / 2
    if hi:
        return hi * step
    if lo:
        return lo / step
    return guess

def edge_above(r, key, guess, step):
    hi, lo = r.get('top_' + key, 0), r.get('bot_' + key, 0)
    if hi and lo and lo < hi:
        return (hi + lo) / 2
    if hi:
        return hi / step
    if lo:
        return lo * step
    return guess

def band(low, high, width, short):
    return max(low, high) * (1 + width) if short else low * (1 - width)
"""
"""Thresholds learned from the run, for any observed numbers: `track` notes, each day, which of them rose since
the day before, against the pool's price the player left then (`r['left']`, set after its trade). `edge` is the
price at or below which a number rises (a buyer's threshold): the middle of the bracket between the highest price
after which it rose and the lowest after which it did not, or a `step` beyond the one end seen, or the `guess`
before either. `edge_above` is the price at or above which it rises (a seller's): a rise is credited to a price
only on a day when no other tracked number moved, since another trade that day may have moved the price it saw
(and a bound the newest day contradicts is dropped). `band` is a market maker's band: its lower edge below `low`
while selling, its upper edge above the higher of `low` and `high` while short of stock."""

PREAMBLE = """
price = v[{signal!r}]
wallet = v["wallet"]
held = wallet.get({token!r}, 0)
cash = wallet.get({quote!r}, 0)
hist = (r.get("hist", []) + [price])[-{history}:]
r["hist"] = hist
ref = r.get("ref", price)
r["ref"] = ref
worth = held * price + cash
share = held * price / worth if worth > 0 else 0
units = r.get("units", worth / price)
r["units"] = units
last = {days}
"""
HISTORY = 100  # days of prices kept in `r`, so the scratch dict stays small on long runs


def draw_program(market: Market, rng: random.Random) -> ast.Module:
    """A fresh program: the preamble and a decision chain of a buy rule and a sell rule (often of one family)."""
    family = _family(market, rng)
    rules = [
        draw_rule(market, rng, side, family if rng.random() < 0.7 else None) for side in SIDES if market.side(side)
    ]
    rng.shuffle(rules)
    liquidation = _liquidation(market, rng)
    rules = [*_one_offs(market, rng), *([liquidation] if liquidation else []), *rules]
    chain = chain_of(_live(rules))
    fn = parse("def fn(i, v, r, s, p):\n    return 0\n").body[0]
    assert isinstance(fn, ast.FunctionDef)
    preamble = PREAMBLE.format(
        signal=market.signal, token=market.token, quote=market.quote, history=HISTORY, days=market.days
    )
    fn.body = [*parse(preamble).body, chain, *fn.body]
    helpers = HELPERS
    if market.pool:
        token, quote = market.pool
        helpers += TRADE_TO.format(token=token, quote=quote, buy=market.buy, sell=market.sell, floor=MIN_AMOUNT)
        helpers += BRACKETS
        left = f"r['left'] = p[{market.key!r}].v[{quote!r}] / p[{market.key!r}].v[{token!r}]\n"
        fn.body = [*fn.body[:-1], *parse(left).body, fn.body[-1]]
    return watch_edges(ast.Module(body=[*parse(helpers).body, fn], type_ignores=[]))


EDGES = ("edge", "edge_above")


def watch_edges(tree: ast.Module) -> ast.Module:
    """The program with one `track` line, just before its decision chain, of the numbers the chain's edges read
    (none without edges): what a fresh draw, a mutation or a crossover must keep true of a grammar program."""
    fn, chain = find_fn(tree), grammar_chain(tree)
    if fn is None or chain is None:
        return tree
    keys = tuple(dict.fromkeys(
        call.args[1].value for call in ast.walk(chain) if isinstance(call, ast.Call)
        and getattr(call.func, "id", None) in EDGES and len(call.args) > 1 and isinstance(call.args[1], ast.Constant)
    ))  # fmt: skip
    kept = [node for node in fn.body if not _tracking(node)]
    at = kept.index(chain)
    watching = parse(f"track(r, v, {keys!r})\n").body if keys else []
    fn.body = [*kept[:at], *watching, *kept[at:]]
    return ast.fix_missing_locations(tree)


def _tracking(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", "") == "track"
    )


def _live(rules: list[ast.If]) -> list[ast.If]:
    """The rules up to the first that always fires (`if True:`): the ones after it never would."""
    always = next((k for k, rule in enumerate(rules) if isinstance(rule.test, ast.Constant) and rule.test.value), None)
    return rules if always is None else rules[: always + 1]


def _statement(source: str) -> ast.If:
    node = parse(source).body[0]
    assert isinstance(node, ast.If)
    return node


def chain_of(rules: list[ast.If], orelse: list[ast.stmt] | None = None) -> ast.If:
    """The rules as one if/elif chain, the first tested first, ending in `orelse` (none by default).

    The nodes are new, so rules taken from another chain keep their place there.
    """
    head, *rest = [ast.If(rule.test, rule.body, []) for rule in rules]
    node = head
    for rule in rest:
        node.orelse = [rule]
        node = rule
    node.orelse = orelse or []
    return head


def rules_of(chain: ast.If) -> list[ast.If]:
    """The rules of an if/elif chain, in order; the last one's `orelse` is the chain's final `else` body."""
    rules = [chain]
    while len(rules[-1].orelse) == 1 and isinstance(rules[-1].orelse[0], ast.If):
        rules.append(rules[-1].orelse[0])
    return rules


def grammar_chain(tree: ast.Module) -> ast.If | None:
    """The decision chain of a program in the grammar's form (the helpers, and an fn assigning every
    FEATURE before its first `if`), else None.

    Only such programs may take rules from the grammar or from each other: their rules read those names.
    """
    fn = find_fn(tree)
    if fn is None:
        return None
    helpers = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    chain = next((node for node in fn.body if isinstance(node, ast.If)), None)
    if chain is None or not set(HELPER_NAMES) <= helpers:
        return None
    preamble = fn.body[: fn.body.index(chain)]
    assigned = {target.id for node in preamble if isinstance(node, ast.Assign) for target in node.targets
                if isinstance(target, ast.Name)}  # fmt: skip
    return chain if set(FEATURES) <= assigned else None


def action_of(rule: ast.If) -> str | None:
    """The action a rule takes (`buyA`, `sellA`, `trade_to`, ...): the first method or helper its body calls."""
    calls = (node.func for statement in rule.body for node in ast.walk(statement) if isinstance(node, ast.Call))
    named = (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None) for func in calls)
    return next((name for name in named if name not in ("max", "min")), None)


def find_fn(tree: ast.Module) -> ast.FunctionDef | None:
    """The module-level `def fn`, if the program defines one."""
    return next((node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "fn"), None)


def significant(value: float) -> float:
    """`value` rounded to 4 significant digits, so mutated constants stay readable."""
    return float(f"{value:.4g}") if math.isfinite(value) else value
