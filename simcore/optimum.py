"""Reference optima of the threshold-bot games: an exact solver for a fee-free pool, a best-found plan otherwise.

The market (`simcore.bots`, `ai3_plugins`): each day a buyer takes `buy_size` $AI from a constant-product pool
when its price is at or below `buy_below`, then a seller puts `sell_size` in when the price is at or above
`sell_above`, then (in `noisy_market`) a noise trader trades, then the player. With no fee and no noise the pool
stays on `la * lb = k`, so a player's day comes down to the pool's $AI level `x` it leaves: tomorrow's bots act
on `x` alone, and by conservation the player holds `ai + la0 + F - x` $AI and `usdc + lb0 + G - k / x` USDC,
where F and G are the bots' net $AI and USDC paid into the pool so far. Within each bot regime (none, buyer,
seller, both) tomorrow's F is fixed and G is monotone in `x`, so the best `x` is an end of the regime's interval
(cut by the wallet); more F and more G is never worse, so the search keeps only the states (F, G) no other
state beats on both. That is `solve`: exact, in well under a second a seed.

A plan is the pool's $AI level after each of the player's turns (the last: everything sold); `plan_player`
replays one through the real slot with one dex trade a day. With a fee or a noise trader there is no such
reduction: `search` runs a beam over the same kind of candidate levels on a copy of the pool's arithmetic, and
`lower_bound` reports what replaying its plan through the real slot scores. It knows the seed's noise in
advance (a clairvoyant plan: the optimum of a seed is over every player fn, one that knows the draws included),
so it is far above what a player that infers the market can reach.

`optimum_of` and `idle_score` are the service's entry points, cached per process by the seed's content.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simcore import bots
from simcore.engine import day_count
from simcore.errors import ScenarioError, SimulationError
from simcore.game import Optimum
from simcore.scenario import Scenario, load_scenario
from simcore.seat import idle, play
from simcore.variables import compute, realise

# Ends of open (and, against float rounding, closed) intervals are moved this far inside, relatively: bots compare
# prices within a few ulps of k / x**2, and a year of unreset player trades drifts the pool's product by ~1e-13.
NUDGE = 4e-12
STILL = 1e-13  # `plan_player` trades only to move the pool by more than this (relatively): less is float noise
BOT_KEYS = ("buy_below", "buy_size", "sell_above", "sell_size")
BEAM = 64  # states `search` keeps a day: ~1 s a seed on noisy_market; it finds the exact optima of hidden_bots
CACHE_SIZE = 4096


@dataclass(frozen=True)
class ThresholdMarket:
    """One seed's threshold market as the player meets it: the pool (`la`, `lb`, `fee`), the bots, the slot's
    starting wallet (`ai`, `usdc`), the number of days, and the noise trader's draws (`noise[d - 1]` is day d's
    trade before its cap of a quarter of the pool: > 0 a buy, < 0 a sale, 0 none; empty without a noise trader)."""

    la: float
    lb: float
    buy_below: float
    buy_size: float
    sell_above: float
    sell_size: float
    ai: float = 0.0
    usdc: float = 50.0
    days: int = 365
    fee: float = 0.0
    noise: tuple[float, ...] = field(default=(), repr=False)

    @property
    def k(self) -> float:
        """The pool's constant product at the start, as the dex computes it."""
        return self.la * self.lb


def market_of(scenario: Any, seed: int, years: float | None = None, **fixed: float) -> ThresholdMarket:
    """The threshold market a seed of `scenario` draws: pool and bots from its variables (or `fixed`, for a
    scenario whose bots are written in code), the wallet from its slot, and the draws of `simcore.bots.noise`
    if it is among the players (the run's generator after the variables' draws, as the engine uses it)."""
    loaded = _loaded(scenario)
    if loaded.slot is None:
        raise ScenarioError(f"scenario {loaded.name!r} has no slot, so no optimum")
    rng = random.Random(seed)
    v = {**compute(realise(loaded.variables, rng)), **fixed}
    missing = [key for key in ("dex_ai_il", "dex_usdc_il", *BOT_KEYS) if v.get(key) is None]
    if missing:
        raise ScenarioError(f"scenario {loaded.name!r} is not a threshold market: no value for {missing}")
    days = day_count(loaded.years if years is None else years)
    noise = _noise(rng, v["noise_size"], days) if any(p.fn is bots.noise for p in loaded.players) else ()
    wallet = loaded.slot.wallet
    return ThresholdMarket(
        la=v["dex_ai_il"], lb=v["dex_usdc_il"], ai=wallet.get("AI", 0.0), usdc=wallet.get("USDC", 0.0), days=days,
        fee=v.get("dex_fee") or 0.0, noise=noise, **{key: v[key] for key in BOT_KEYS},
    )  # fmt: skip


def _noise(rng: random.Random, size: float, days: int) -> tuple[float, ...]:
    """The noise trader's daily trades as `simcore.bots.noise` draws them, before the cap."""
    trades = []
    for _ in range(days):
        amount = 0.0
        if rng.random() < 0.7:
            amount = rng.expovariate(1 / size)
            amount = amount if rng.random() < 0.5 else -amount
        trades.append(amount)
    return tuple(trades)


def _loaded(scenario: Any) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


# --- the exact solver -------------------------------------------------------------------------------------------


def solve(market: ThresholdMarket) -> Optimum:
    """The best final USDC of a fee-free threshold market, with the plan reaching it (exact up to the nudges
    that keep each planned level strictly inside its regime: ~1e-8 USDC a year)."""
    if market.fee or any(market.noise):
        raise SimulationError("the exact solver needs a fee-free pool and no noise trader; `search` finds a plan")
    m = market
    k, total_ai, total_usdc = m.k, m.ai + m.la, m.usdc + m.lb
    if m.days == 0:
        return Optimum(m.usdc, True, "exact: nothing to trade", ())
    if m.la <= m.buy_size and m.lb / m.la <= m.buy_below:
        raise SimulationError(f"the buyer's first buy of {m.buy_size} $AI would drain the pool's {m.la}")
    regimes = _regimes(m)
    # a state after the bots' turn: (F, G, pool level now, parent index, level the player left the day before)
    f0, g0, x0 = _bots(m, m.la)
    layers: list[list[tuple[float, float, float, int, float]]] = [[(f0, g0, x0, -1, m.la)]]
    for _ in range(1, m.days):
        children = []
        for index, (f, g, now, _parent, _left) in enumerate(layers[-1]):
            lo, hi = k / (total_usdc + g) * (1 + NUDGE), (total_ai + f) * (1 - NUDGE)
            for low, high, best in regimes:
                a, b = max(lo, low), min(hi, high)
                if a > b:
                    continue
                x = (a if best < 0 else b) if best else (now if a <= now <= b else (a + b) / 2)
                df, dg, after = _bots(m, x)
                children.append((f + df, g + dg, after, index, x))
        layers.append(_pareto(children))
    final = [total_usdc + g - k / (total_ai + f) for f, g, *_ in layers[-1]]
    best = max(range(len(final)), key=final.__getitem__)
    plan = [total_ai + layers[-1][best][0]]
    index = best
    for layer in reversed(layers[1:]):
        _f, _g, _now, index, left = layer[index]
        plan.append(left)
    plan.reverse()
    return Optimum(final[best], True, "exact: fee-free pool, dynamic programme over bot regimes", tuple(plan))


def _regimes(m: ThresholdMarket) -> list[tuple[float, float, int]]:
    """The pool levels after the player's turn that set off each bot combination, as closed intervals nudged
    inside, with which end tomorrow's bots pay most at (-1 the low end, 1 the high end, 0 anywhere)."""
    buy_from = math.sqrt(m.k / m.buy_below)  # the buyer buys when x >= buy_from (price <= buy_below)
    sell_to = math.sqrt(m.k / m.sell_above)  # the seller sells when the pool holds <= sell_to (price >= sell_above)
    lo, hi = 1 + NUDGE, 1 - NUDGE
    buyer_from = max(buy_from, m.buy_size) * lo  # a buy that drains the pool would stop the run
    both_best = 1 if m.sell_size > m.buy_size else -1 if m.sell_size < m.buy_size else 0
    intervals = [
        (sell_to * lo, buy_from * hi, 0),  # neither: price between the thresholds
        (0.0, min(sell_to, buy_from) * hi, 1),  # the seller alone: it is paid less the more the pool holds
        (max(buyer_from, (sell_to + m.buy_size) * lo), math.inf, -1),  # the buyer alone: it pays more the less
        (buyer_from, (sell_to + m.buy_size) * hi, both_best),  # both
    ]
    return [(low, high, best) for low, high, best in intervals if low <= high]


def _bots(m: ThresholdMarket, x: float) -> tuple[float, float, float]:
    """The bots' day on a fee-free pool left at level `x`: $AI and USDC they pay in, and the level after (the USDC
    as one difference of the pool's, not a sum of trades: a buyer may take the pool to a price of 1e13)."""
    k, y = m.k, x
    if k / y / y <= m.buy_below:
        y -= m.buy_size
    if k / y / y >= m.sell_above:
        y += m.sell_size
    return y - x, k / y - k / x, y


def _pareto(states: list[tuple[float, float, float, int, float]]) -> list[tuple[float, float, float, int, float]]:
    """The states no other has at least as much F and G as (ties: the first)."""
    states.sort(key=lambda state: (-state[0], -state[1]))
    kept, best_g = [], -math.inf
    for state in states:
        if state[1] > best_g:
            kept.append(state)
            best_g = state[1]
    return kept


# --- a best-found plan: beam search on the pool's arithmetic ---------------------------------------------------

State = tuple[float, float, float, float, float, int, float]  # la, lb, k, ai, usdc, parent index, level left


def search(market: ThresholdMarket, width: int = BEAM) -> Optimum:
    """A plan for any threshold market (a fee, a noise trader), found by a beam: each day every kept state tries
    the levels that put the price just either side of a bot's threshold, staying, and the wallet's limits; of
    the states that follow it keeps those no other beats on both the $AI and the USDC held by the player and
    the pool together, at most `width` (the best half by their value if sold out now, the rest spread along
    the front). Its value is the copy's, within a few 1e-12 of a replay (`lower_bound` replays it)."""
    m = market
    if m.days == 0:
        return Optimum(m.usdc, False, "lower bound: nothing to trade", ())
    la, lb, k = _background(m, 1, m.la, m.lb, m.k)
    layers: list[list[State]] = [[(la, lb, k, m.ai, m.usdc, -1, m.la)]]
    for day in range(1, m.days):
        children = []
        for index, (la, lb, k, ai, usdc, _parent, _left) in enumerate(layers[-1]):
            for level in _levels(m, la, lb, ai, usdc):
                moved = _move(m, la, lb, k, ai, usdc, level)
                if moved is not None:
                    nla, nlb, nk, nai, nusdc = moved
                    children.append((*_background(m, day + 1, nla, nlb, nk), nai, nusdc, index, level))
        layers.append(_front(children, width))
    final = [usdc + _proceeds(m, la, lb, k, ai) for la, lb, k, ai, usdc, *_ in layers[-1]]
    best = max(range(len(final)), key=final.__getitem__)
    last = layers[-1][best]
    plan, index = [last[0] + last[3]], best
    for layer in reversed(layers[1:]):
        index, left = layer[index][5:]
        plan.append(left)
    plan.reverse()
    return Optimum(final[best], False, f"lower bound: clairvoyant beam search ({width} states a day)", tuple(plan))


def _take(m: ThresholdMarket, la: float, lb: float, k: float, amount: float) -> tuple[float, float, float]:
    """A background `buyA(amount)`, as the dex computes it."""
    left = la - amount
    curve = k / left
    if not m.fee:
        return left, curve, k
    lb += (curve - lb) / (1 - m.fee)
    return left, lb, left * lb


def _give(m: ThresholdMarket, la: float, lb: float, k: float, amount: float) -> tuple[float, float, float]:
    """A background `sellA(amount)`, as the dex computes it."""
    curve = k / (la + amount * (1 - m.fee))
    la += amount
    return (la, curve, la * curve) if m.fee else (la, curve, k)


def _background(m: ThresholdMarket, day: int, la: float, lb: float, k: float) -> tuple[float, float, float]:
    """The pool after `day`'s bots and noise trader."""
    if lb / la <= m.buy_below:
        la, lb, k = _take(m, la, lb, k, m.buy_size)
    if lb / la >= m.sell_above:
        la, lb, k = _give(m, la, lb, k, m.sell_size)
    noise = m.noise[day - 1] if m.noise else 0.0
    if noise:
        amount = min(abs(noise), la / 4)
        la, lb, k = _take(m, la, lb, k, amount) if noise > 0 else _give(m, la, lb, k, amount)
    return la, lb, k


def _player(m: ThresholdMarket, la: float, lb: float, level: float) -> tuple[float, float, float]:
    """The pool after the player moves it to `level` (a dex quote: the curve through the present reserves)."""
    keep, curve = 1 - m.fee, la * lb
    if level > la:
        new_lb = curve / (la + (level - la) * keep)
    else:
        new_lb = lb + (curve / level - lb) / keep if m.fee else curve / level
    return level, new_lb, level * new_lb


def _move(
    m: ThresholdMarket, la: float, lb: float, k: float, ai: float, usdc: float, level: float
) -> tuple[float, float, float, float, float] | None:
    """The pool and wallet after `plan_player`'s trade towards `level` (None if the wallet cannot pay)."""
    change = level - la
    if change > STILL * level and ai > 0:
        level = la + min(change, ai)
    elif not change < -STILL * level:
        return la, lb, k, ai, usdc
    new_la, new_lb, new_k = _player(m, la, lb, level)
    cost = new_lb - lb
    if cost > usdc:
        return None
    return new_la, new_lb, new_k if m.fee else k, ai - (new_la - la), usdc - cost


def _proceeds(m: ThresholdMarket, la: float, lb: float, k: float, ai: float) -> float:
    """The USDC that selling `ai` into the pool brings."""
    return lb - _player(m, la, lb, la + ai)[1] if ai > 0 else 0.0


def _levels(m: ThresholdMarket, la: float, lb: float, ai: float, usdc: float) -> set[float]:
    """The levels worth trying: staying, selling out, buying all the USDC allows, and a hair either side of where
    the player leaves the price at the buyer's threshold, at the seller's, and where the buyer leaves it at the
    seller's (the price falls as the level rises, so a hair above puts it a hair below)."""
    up, down = 1 + 1e-10, 1 - 1e-10
    at_buyer, at_seller = _level_at(m, la, lb, m.buy_below), _level_at(m, la, lb, m.sell_above)
    past_buyer = _level_before_buy(m, la, lb, m.sell_above)
    levels = {la, la + ai, la * lb / (lb + usdc * (1 - m.fee)) * up, at_buyer * up, at_buyer * down}
    levels.update((at_seller * down, past_buyer * up, past_buyer * down))
    return {level for level in levels if level > 0}


def _level_at(m: ThresholdMarket, la: float, lb: float, price: float) -> float:
    """The level at which the player's trade leaves the pool's price at `price` (a quadratic either way)."""
    keep = 1 - m.fee
    if price <= lb / la:  # selling: keep x^2 + la (1 - keep) x - la lb / price = 0
        b = la * (1 - keep)
        return (math.sqrt(b * b + 4 * keep * la * lb / price) - b) / (2 * keep)
    c = lb * (1 / keep - 1)  # buying: price x^2 + c x - la lb / keep = 0
    return (math.sqrt(c * c + 4 * price * la * lb / keep) - c) / (2 * price)


def _level_before_buy(m: ThresholdMarket, la: float, lb: float, price: float) -> float:
    """The level at which the buyer's trade leaves the price at `price` (secant steps from the fee-free root)."""

    def miss(x: float) -> float:
        pool = _player(m, la, lb, x)
        if pool[0] <= m.buy_size:
            return math.inf
        after = _take(m, *pool, m.buy_size)
        return after[1] / after[0] - price

    x0 = math.sqrt(la * lb / price) + m.buy_size
    if not m.fee:
        return x0
    x1 = x0 * (1 + 1e-7)
    f0, f1 = miss(x0), miss(x1)
    for _ in range(6):
        if f1 == f0 or not abs(f1) > 1e-14 * price:
            break
        x0, x1, f0 = x1, x1 - f1 * (x1 - x0) / (f1 - f0), f1
        f1 = miss(x1)
    return x1


def _front(states: list[State], width: int) -> list[State]:
    """The states no other beats on both totals (player and pool), at most `width` of them."""
    states.sort(key=lambda s: (-(s[3] + s[0]), -(s[4] + s[1])))
    kept: list[State] = []
    best = -math.inf
    for state in states:
        if state[4] + state[1] > best:
            kept.append(state)
            best = state[4] + state[1]
    if len(kept) <= width:
        return kept
    worth = sorted(range(len(kept)), key=lambda j: -(kept[j][4] + kept[j][1] - kept[j][2] / (kept[j][3] + kept[j][0])))
    spread = width - width // 2
    chosen = set(worth[: width // 2]) | {j * len(kept) // spread for j in range(spread)}
    return [kept[j] for j in sorted(chosen)]


# --- replaying a plan, and the service's entry points -----------------------------------------------------------


def plan_player(plan: tuple[float, ...], dex: str = "dex") -> Callable[..., None]:
    """A player fn that leaves the pool at `plan[i - 1]` $AI on day `i` with one trade (selling at most what it
    holds), and on the plan's last day sells every $AI it holds."""
    last = len(plan)

    def fn(i: int, v: Mapping[str, Any], r: Any, s: Any, p: Any) -> None:
        if i > last:
            return
        pool = p[dex]
        if i == last:
            if v["wallet"]["AI"] > 0:
                pool.sellA(v["wallet"]["AI"])
            return
        change = plan[i - 1] - pool.v["la"]
        if change > STILL * plan[i - 1] and v["wallet"]["AI"] > 0:
            pool.sellA(min(change, v["wallet"]["AI"]))
        elif change < -STILL * plan[i - 1]:
            pool.buyA(-change)

    return fn


def exact_optimum(scenario: Any, seed: int, years: float | None = None, **fixed: float) -> Optimum:
    """A game's `optimum` for a fee-free threshold market: `solve` on the seed's market (see `market_of`)."""
    return _solved(market_of(scenario, seed, years, **fixed))


def lower_bound(scenario: Any, seed: int, years: float | None = None, **fixed: float) -> Optimum:
    """A game's `optimum` for a threshold market with a fee or noise: `search`'s plan, valued at what replaying
    it through the real slot scores."""
    market = market_of(scenario, seed, years, **fixed)
    found = _searched(market)
    score = play(scenario, plan_player(found.plan), years=years, seed=seed).score
    return Optimum(score, False, found.method, found.plan)


def optimum_of(scenario: Any, seed: int) -> Optimum | None:
    """The game's optimum on `seed` (None when its game declares none), computed once per process for a seed's
    content (the scenario's code, its variables as the seed draws them, its slot)."""
    loaded = _loaded(scenario)
    if loaded.game is None or loaded.game.optimum is None:
        return None
    key = ("optimum", _content(loaded, seed), _code(loaded.game.optimum))
    found = _CACHE.get(key)
    return found if found is not None else _remember(key, loaded.game.optimum(loaded, seed))


def idle_score(scenario: Any, seed: int) -> float:
    """The score of a player that does nothing on `seed`: the baseline of the share of the optimum's profit,
    (score - idle) / (optimum - idle). Computed once per process for a seed's content."""
    loaded = _loaded(scenario)
    key = ("idle", _content(loaded, seed))
    found = _CACHE.get(key)
    return found if found is not None else _remember(key, play(loaded, idle, seed=seed).score)


_CACHE: dict[tuple[Any, ...], Any] = {}


def _remember(key: tuple[Any, ...], value: Any) -> Any:
    if len(_CACHE) >= CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = value
    return value


def _content(scenario: Scenario, seed: int) -> tuple[Any, ...]:
    """What a seed's run of `scenario` is made of: its code (code objects compare by content), its variables as
    the seed draws them, its plugins, slot and length."""
    values = compute(realise(scenario.variables, random.Random(seed)))
    hooks = (scenario.before, scenario.after, *(player.fn for player in scenario.players))
    return (scenario.name, seed, scenario.years, repr(sorted(values.items(), key=lambda item: item[0])),
            repr(scenario.plugins), repr(scenario.slot), tuple(_code(hook) for hook in hooks))  # fmt: skip


def _code(fn: Any) -> Any:
    """A function's code object (with a partial's arguments), or its repr."""
    if hasattr(fn, "func"):  # functools.partial
        return (_code(fn.func), fn.args, tuple(sorted(fn.keywords.items())))
    return getattr(fn, "__code__", repr(fn))


_solved = functools.lru_cache(maxsize=CACHE_SIZE)(solve)
_searched = functools.lru_cache(maxsize=CACHE_SIZE)(search)
