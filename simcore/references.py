"""Reference players of the threshold-bot games: strong hand-written player fns, the yardsticks of `game.reference`.

Each is written as an evolved player must be (plain Python, no imports, no names from outside the function, so
its source runs in the sandbox as `fn`), and plays the slot of `simcore.bots`' games or `ai3_plugins`: it sees
the pool (`dex.v`), the bots' running totals and its wallet, and trades on the dex.

Both follow what the exact solver (`simcore.optimum`) shows an optimum does: every day leave the pool's price
just at a bot's threshold, so that tomorrow's bots trade at the best price they accept, and alternate between
a day that sells $AI to the bots (their net flow takes $AI out of the pool: the player puts it back from its
stock, dearly) and a day that buys it back from them (cheaply), keeping only the stock the next selling day
needs. On a fee-free pool that earns over 99% of the optimum's profit when the market is known (`ai3_plugins`:
99.9%), and about 91% of it over hidden_bots' seeds 0-29 when it has to be inferred.
"""

from __future__ import annotations

from typing import Any


def ai3_reference(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """`ai3_plugins`: hold the price at $1. Just at $1 both bots trade (the buyer takes 10 $AI, the seller puts 7
    back: the player sells them 3 dear); just above it only the seller does (the player buys its 7 cheap). Sell
    to the bots whenever the stock covers tomorrow's 3, else buy; sell everything at the end of the year."""
    dex = p.dex
    la, lb = dex.v["la"], dex.v["lb"]
    stock = v["wallet"]["AI"]
    if i % 365 == 0:
        if stock > 0:
            dex.sellA(stock)
        return
    level = (la * lb) ** 0.5  # the pool's $AI at a price of exactly $1
    # a hair under $1 the buyer buys, then the seller sells at $1 or more; a hair over $1 only the seller sells
    target = level * (1 + 1e-11) if stock + la - level >= 3 else level * (1 - 1e-11)
    if target > la and stock > 0:
        dex.sellA(min(target - la, stock))
    elif target < la:
        dex.buyA(la - target)


def threshold_reference(i: int, v: Any, r: Any, s: Any, p: Any) -> None:
    """The hidden threshold markets (`hidden_bots`, `noisy_market`): infer the bots, then trade as above.

    The bots' sizes are the steps of their totals. Their thresholds are bracketed from what they did to the
    pool the player left the day before: the buyer bought iff that price was at or below its threshold, the
    seller sold iff the price after the buyer was at or above its own. The player plans with each threshold at
    its bracket's middle (a step past its one known end while it is open), so a day that leaves the price at a
    planned threshold halves that bracket, until the known ends are a hair apart and safe to use. It picks the
    selling and the buying day that earn most together (per day, with the $AI balanced), sells when its stock
    allows tomorrow's buy, else buys; when no pair earns at the brackets' middles but one could within them, it
    probes the widest bracket; when none could, it waits. It sells everything at the end of the year.
    """
    dex = p.dex
    la, lb = dex.v["la"], dex.v["lb"]
    k = la * lb
    stock, cash = v["wallet"]["AI"], v["wallet"]["USDC"]
    if not r:  # 0 stands for "not known yet" (a price, a size and a level are all > 0)
        r.update(buys=0, sells=0, buy=0, sell=0, b_lo=0, b_hi=0, s_lo=0, s_hi=0, left=0)
    bought, sold = v["total_buy"] - r["buys"], v["total_sell"] - r["sells"]
    r["buys"], r["sells"] = v["total_buy"], v["total_sell"]
    if bought > 0:
        r["buy"] = bought
    if sold > 0:
        r["sell"] = sold
    if r["left"]:  # what the bots did to the pool left yesterday bounds their thresholds
        x, y = r["left"]
        price = after = y / x
        if bought > 0 and x > bought:
            after = x * y / (x - bought) ** 2
        if bought > 0:
            r["b_lo"] = max(r["b_lo"], price)
            if r["b_hi"] and r["b_hi"] <= price:  # against an older bound (a fee moved a price): drop that
                r["b_hi"] = 0
        else:
            r["b_hi"] = min(r["b_hi"], price) if r["b_hi"] else price
            if r["b_lo"] >= price:
                r["b_lo"] = 0
        if sold > 0:
            r["s_hi"] = min(r["s_hi"], after) if r["s_hi"] else after
            if r["s_lo"] >= after:
                r["s_lo"] = 0
        else:
            r["s_lo"] = max(r["s_lo"], after)
            if r["s_hi"] and r["s_hi"] <= after:
                r["s_hi"] = 0
    r["left"] = 0
    if i % 365 == 0:  # the end of the year: sell every $AI
        if stock > 0:
            dex.sellA(stock)
        return
    buy = r["buy"] or r["sell"] or 10
    sell = r["sell"] or r["buy"] or 10
    nudge = 1e-9

    def middle(lo: float, hi: float) -> list[float]:
        """A threshold to plan with: [the price at which it surely fires, the price at which it surely does not]."""
        if lo and hi and hi - lo <= 1e-4 * hi:
            return [lo, hi]
        if lo and hi:
            return [(lo + hi) / 2, (lo + hi) / 2]
        guess = lo * 1.1 if lo else hi / 1.1 if hi else lb / la * 1.1
        return [guess, guess]

    def options(b_fire: float, b_not: float, s_fire: float, s_not: float) -> list[list[float]]:
        """Each bot combination's best day: [the level to leave, the bots' net $AI into the pool, their USDC]."""
        x_bf, x_bn = (k / b_fire) ** 0.5 * (1 + nudge), (k / b_not) ** 0.5 * (1 - nudge)
        x_sf, x_sn = (k / s_fire) ** 0.5 * (1 - nudge), (k / s_not) ** 0.5 * (1 + nudge)
        days = [[min(x_bn, x_sf), sell, -(k / min(x_bn, x_sf) - k / (min(x_bn, x_sf) + sell))]]  # seller alone
        low = max(x_bf, x_sn + buy)  # the buyer alone pays most with the pool emptiest
        if low > buy:
            days.append([low, -buy, k / (low - buy) - k / low])
        if buy < x_bf <= x_sf + buy:  # both: the end where their net flow pays most
            x = x_bf if buy > sell else x_sf + buy
            days.append([x, sell - buy, k / (x - buy + sell) - k / x])
        return days

    def best_pair(days: list[list[float]]) -> list:
        """[gain per day, selling day, buying day] of the best balanced pair (or one balanced day), or [0]."""
        best = [0.0]
        for a in days:
            if a[1] == 0 and a[2] > best[0]:
                best = [a[2], a, a]
            for b in days:
                if a[1] < 0 < b[1] and (a[2] * b[1] - b[2] * a[1]) / (b[1] - a[1]) > best[0]:
                    best = [(a[2] * b[1] - b[2] * a[1]) / (b[1] - a[1]), a, b]
        return best

    def reach(x: float, stock: float, cash: float, la: float, lb: float) -> bool:
        return x <= (la + stock) * (1 - nudge) and k / x <= (lb + cash) * (1 - nudge)

    b_fire, b_not = middle(r["b_lo"], r["b_hi"])  # the buyer buys at a price <= b_fire, never at >= b_not
    s_not, s_fire = middle(r["s_lo"], r["s_hi"])  # the seller sells at a price >= s_fire, never at <= s_not
    days = options(b_fire, b_not, s_fire, s_not)
    plan = best_pair(days)
    refills = [d for d in days if d[1] > 0 and reach(d[0], stock, cash, la, lb)]
    target = la
    if len(plan) > 1:
        x, after, back = plan[1][0], plan[1][0] + plan[1][1], plan[2][0]
        if reach(x, stock, cash, la, lb) and reach(back, stock + la - x, cash + lb - k / x, after, k / after):
            target = x
        elif reach(back, stock, cash, la, lb):
            target = back
        elif refills:  # short of $AI for either: buy it where the seller's is cheapest
            target = min(refills, key=lambda d: -d[2] / d[1])[0]
        elif reach(x, stock, cash, la, lb):
            target = x
    else:
        b_hope = r["b_hi"] or b_fire  # the most a pair could earn within the brackets
        s_hope = r["s_lo"] or s_fire
        vague = not (r["b_lo"] and r["b_hi"] and r["s_lo"] and r["s_hi"])  # a bracket still open
        if vague or best_pair(options(b_hope, b_hope, s_hope, s_hope))[0] > 0:
            b_gap = 1 - r["b_lo"] / r["b_hi"] if r["b_lo"] and r["b_hi"] else 1.0
            s_gap = 1 - r["s_lo"] / r["s_hi"] if r["s_lo"] and r["s_hi"] else 1.0
            probes = [(k / b_fire) ** 0.5, (k / s_fire) ** 0.5]  # the price at each bracket's middle
            if s_gap > b_gap:
                probes.reverse()
            probes = [x for x in probes if reach(x, stock, cash, la, lb)]
            if probes:
                target = probes[0]
            elif refills:  # a probe needs $AI the player has not got: buy some first
                target = min(refills, key=lambda d: -d[2] / d[1])[0]
    if target > la * (1 + 1e-9) and stock > 0:
        dex.sellA(min(target - la, stock))
    elif target < la * (1 - 1e-9):
        dex.buyA(la - target)
    r["left"] = [dex.v["la"], dex.v["lb"]]
