"""The weighted_pool plugin: a Balancer V1 pool of two weighted tokens and the pool shares that own it.

The maths is Balancer V1's `BMath` (balancer-core, contracts/BMath.sol: the pools Ocean Market V3 ran on) in floats
rather than its 18-decimal fixed point, written with `log1p` and `expm1` so that small trades keep their digits:
`calc_spot_price`; `calc_out_given_in` and `calc_in_given_out` (swaps); `calc_pool_out_given_single_in` and
`calc_single_in_given_pool_out` (single-asset joins: the swap fee is charged on the part of the amount that is not
the token's own weight, `amount * (1 - (1 - w) * fee)`, the part implicitly swapped into the other token);
`calc_single_out_given_pool_in` and `calc_pool_in_given_single_out` (single-asset exits; Balancer V1's EXIT_FEE is
0). The weights may be denormalised, as Balancer's are (`total_weight` normalises them). `BPool`'s limits hold too:
a trade puts at most half of a balance in (MAX_IN_RATIO) and takes at most a third of one out (MAX_OUT_RATIO).

The pool (`WeightedPool`) holds balances `ba` and `bb` with normalised weights (`wa + wb == 1` exactly) and a
`supply` of pool shares; its invariant is ba^wa * bb^wb, and what a share owns is that over the supply. A trade is
quoted on values and rounded against the trader: what the pool pays out is its formula's less a relative MARGIN,
what it takes in its formula's plus MARGIN, and no balance moves by more than the amount named (checked exactly).
So the invariant per share never falls in a trade (`WeightedPoolMarket.audit` checks it) and no sequence of trades
gains anything from rounding. As a slot market (`WeightedPoolMarket`) it holds for the seat its two balances and
minus its share supply, as a bonding curve holds minus the supply it minted: a join pays shares out of it and an
exit takes them back in, so the ledger settles both from the reserves alone, as it settles a swap.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any, ClassVar

from simcore.checks import is_number
from simcore.errors import PluginError
from simcore.exact import units
from simcore.markets import Action, Market, Quote, RefusedError, Reserves
from simcore.plugins.base import Plugin, PluginSpec, check_amount, state_var
from simcore.variables import Variable

MAX_IN_RATIO = 0.5  # BConst.MAX_IN_RATIO: a trade puts at most half of a balance in
MAX_OUT_RATIO = 1 / 3  # BConst.MAX_OUT_RATIO (BONE / 3 + 1 wei): and takes at most a third of one out
EXIT_FEE = 0.0  # BConst.EXIT_FEE
INIT_POOL_SUPPLY = 100.0  # BConst.INIT_POOL_SUPPLY: the shares a new pool mints
MIN_BALANCE = 1e-12  # BConst.MIN_BALANCE: no trade leaves a balance (or the share supply) below it
MIN_WEIGHT, MAX_WEIGHT = 0.02, 0.98  # denormalised weights 1..50 summing to at most 50 (BConst), for two tokens
MAX_FEE = 0.1  # BConst.MAX_FEE; its MIN_FEE (1e-6) is not kept, so that a fee of 0 gives the fee-less maths
# What the pool pays is its formula's times (1 - MARGIN), what it takes its formula's times (1 + MARGIN). The float
# formulas err by at most about 50 ulps (2**-47.4) of their result: the worst is a buy at a weight ratio of 49 and
# the MAX_OUT_RATIO, whose expm1 of about 20 multiplies its argument's error by 20. MARGIN is over 100 times that,
# so every quote is on the pool's side of the exact formula, by about MARGIN of the trade (about 1e-12 of it).
MARGIN = 2.0**-40


# --- Balancer V1's BMath, in floats -------------------------------------------------------------------------------


def calc_spot_price(
    balance_in: float, weight_in: float, balance_out: float, weight_out: float, swap_fee: float
) -> float:
    """Token in paid per token out at the margin, the fee included: sP = (bI / wI) / (bO / wO) / (1 - sF)."""
    return (balance_in / weight_in) / (balance_out / weight_out) / (1 - swap_fee)


def calc_out_given_in(
    balance_in: float, weight_in: float, balance_out: float, weight_out: float, amount_in: float, swap_fee: float
) -> float:
    """Token out paid for `amount_in` in: aO = bO * (1 - (bI / (bI + aI * (1 - sF)))^(wI / wO))."""
    ratio = math.log1p(amount_in * (1 - swap_fee) / balance_in)  # -ln(bI / (bI + aI * (1 - sF)))
    return balance_out * -math.expm1(-(weight_in / weight_out) * ratio)


def calc_in_given_out(
    balance_in: float, weight_in: float, balance_out: float, weight_out: float, amount_out: float, swap_fee: float
) -> float:
    """Token in needed to take `amount_out` (less than bO) out: aI = bI * ((bO / (bO - aO))^(wO / wI) - 1) /
    (1 - sF)."""
    ratio = -math.log1p(-amount_out / balance_out)  # ln(bO / (bO - aO))
    return balance_in * math.expm1((weight_out / weight_in) * ratio) / (1 - swap_fee)


def calc_pool_out_given_single_in(
    balance_in: float, weight_in: float, pool_supply: float, total_weight: float, amount_in: float, swap_fee: float
) -> float:
    """Pool shares minted for `amount_in` of one token: pAo = pS * ((1 + aI * (1 - (1 - w) * sF) / bI)^w - 1), with w
    = wI / tW. The fee is charged only on the part of aI implicitly swapped into the other tokens, 1 - w of it."""
    weight = weight_in / total_weight
    after_fee = amount_in * (1 - (1 - weight) * swap_fee)
    return pool_supply * math.expm1(weight * math.log1p(after_fee / balance_in))


def calc_single_in_given_pool_out(
    balance_in: float, weight_in: float, pool_supply: float, total_weight: float, pool_amount_out: float,
    swap_fee: float,
) -> float:  # fmt: skip
    """Token in needed to mint `pool_amount_out` shares: aI = bI * ((1 + pAo / pS)^(1 / w) - 1) / (1 - (1 - w) * sF),
    the inverse of `calc_pool_out_given_single_in`."""
    weight = weight_in / total_weight
    after_fee = balance_in * math.expm1(math.log1p(pool_amount_out / pool_supply) / weight)
    return after_fee / (1 - (1 - weight) * swap_fee)


def calc_single_out_given_pool_in(
    balance_out: float, weight_out: float, pool_supply: float, total_weight: float, pool_amount_in: float,
    swap_fee: float,
) -> float:  # fmt: skip
    """Token out paid for burning `pool_amount_in` shares (at most the supply): aO = bO * (1 - (1 - pAi * (1 - eF) /
    pS)^(1 / w)) * (1 - (1 - w) * sF), the fee charged on the part implicitly swapped out of the other tokens."""
    weight = weight_out / total_weight
    burned = pool_amount_in * (1 - EXIT_FEE) / pool_supply
    before_fee = balance_out * (-math.expm1(math.log1p(-burned) / weight) if burned < 1 else 1.0)
    return before_fee * (1 - (1 - weight) * swap_fee)


def calc_pool_in_given_single_out(
    balance_out: float, weight_out: float, pool_supply: float, total_weight: float, amount_out: float, swap_fee: float
) -> float:
    """Pool shares burned to take `amount_out` of one token out: pAi = pS * (1 - (1 - aO / (1 - (1 - w) * sF) /
    bO)^w) / (1 - eF), the inverse of `calc_single_out_given_pool_in`."""
    weight = weight_out / total_weight
    before_fee = amount_out / (1 - (1 - weight) * swap_fee)
    return pool_supply * -math.expm1(weight * math.log1p(-before_fee / balance_out)) / (1 - EXIT_FEE)


# --- the pool -----------------------------------------------------------------------------------------------------


class PoolRefusedError(PluginError):
    """The pool will not make a well-formed trade (Balancer's limits, a balance it would leave too low); `reason` is
    the short reason a player is told."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.reason = reason


def max_in(balance: float) -> float:
    """The most a trade may put into a balance: MAX_IN_RATIO of it (exactly half)."""
    return balance * MAX_IN_RATIO


def max_out(balance: float) -> float:
    """The most a trade may take out of a balance: a third of it, rounded to the nearest float (MAX_OUT_RATIO), so
    that `balance / 3` itself is allowed."""
    return balance / 3


def normalised(weight_a: float) -> tuple[float, float]:
    """(wa, wb) with wb = 1 - wa and wa + wb == 1 exactly: the one of the two that is at least 1/2 is 1 minus the
    other exactly (Sterbenz), so `weight_a` moves by at most an ulp of 1/2 (2**-54) when it is below 1/2."""
    weight_b = 1 - weight_a
    return 1 - weight_b, weight_b


class WeightedPool(Plugin):
    """State `v`: balances `ba`, `bb`; normalised weights `wa`, `wb` (wa + wb == 1); the swap `fee`; the share
    `supply`; spot prices without the fee, `pa` (of A in B: (bb / wb) / (ba / wa)) and `pb`; the `invariant`
    ba^wa * bb^wb; `volume_a` and `volume_b`, what swaps have moved of each token, in or out, since the start
    (joins and exits aside). Background players' shares are kept by owner (`shares_of`); a seat's are in its wallet.

    Tokens are named by side ("A", "B") or ticker, in any case. Every action quotes on values and rounds against
    the trader (`quote`); an amount that is not a positive finite number raises a PluginError naming the action, and
    a trade Balancer would refuse (past MAX_IN_RATIO or MAX_OUT_RATIO, leaving a balance below MIN_BALANCE) a
    `PoolRefusedError`.
    """

    def __init__(
        self, key: str, a: str, b: str, shares: str, ba: float, bb: float, wa: float, fee: float, supply: float,
        owner: str = "creator",
    ) -> None:  # fmt: skip
        super().__init__(key)
        for what, amount in ((f"initial {a} balance", ba), (f"initial {b} balance", bb), ("initial supply", supply)):
            check_amount(amount, f"{key}: {what}")
            if amount < MIN_BALANCE:
                raise PluginError(f"{key}: {what} must be at least {MIN_BALANCE:g} (Balancer's MIN_BALANCE)")
        self.a, self.b, self.shares = a, b, shares
        self.accounts: dict[str, float] = {owner: float(supply)}
        self.v = {"ba": float(ba), "bb": float(bb), "wa": 0.5, "wb": 0.5, "fee": 0.0, "supply": float(supply)}
        self.v.update(volume_a=0.0, volume_b=0.0)
        self.set_fee(fee)
        self.set_weight(wa)

    # --- reading it

    def side_of(self, token: str) -> str:
        """`"A"` or `"B"` for a side name or a ticker (any case); a PluginError if the pool does not trade it."""
        name = str(token).upper()
        for side, ticker in (("A", self.a), ("B", self.b)):
            if name in (side, ticker):
                return side
        raise PluginError(f"{self.key}: trades {self.a} (A) and {self.b} (B), not {token!r}")

    def shares_of(self, owner: str) -> float:
        """The pool shares a background player `owner` holds (0 if none)."""
        return self.accounts.get(owner, 0.0)

    # --- the pool's own settings

    def set_weight(self, weight_a: float) -> None:
        """Set A's normalised weight (B's is 1 - weight_a), e.g. for a liquidity-bootstrapping schedule: the
        balances stay, the price moves."""
        if not is_number(weight_a) or not MIN_WEIGHT <= weight_a <= MAX_WEIGHT:
            raise PluginError(
                f"{self.key}.set_weight: A's weight must be in [{MIN_WEIGHT}, {MAX_WEIGHT}], got {weight_a!r}"
            )
        self.v["wa"], self.v["wb"] = normalised(weight_a)
        self._reprice()

    def set_fee(self, fee: float) -> None:
        """Set the swap fee, a fraction in [0, MAX_FEE]."""
        if not is_number(fee) or not 0 <= fee <= MAX_FEE:
            raise PluginError(f"{self.key}.set_fee: the swap fee must be in [0, {MAX_FEE}], got {fee!r}")
        self.v["fee"] = fee

    def _reprice(self) -> None:
        v = self.v
        v["pa"] = calc_spot_price(v["bb"], v["wb"], v["ba"], v["wa"], 0.0)
        v["pb"] = calc_spot_price(v["ba"], v["wa"], v["bb"], v["wb"], 0.0)
        v["invariant"] = v["ba"] ** v["wa"] * v["bb"] ** v["wb"]

    # --- quoting and settling

    def quote(
        self, action: str, side: str, amount: float, what: str | None = None, limits: bool = True
    ) -> tuple[float, float, float]:
        """The pool's `ba`, `bb` and `supply` after `action` on `side` ("A" or "B") of `amount`, on values (nothing
        changes): "sell" puts `amount` of the side in for the other token, "buy" takes it out for the other, "join"
        puts it in for new shares, "exit" burns `amount` shares for the side's token.

        The trader gets nothing from rounding: the side named moves by at most `amount`; what the pool pays (a
        token, or shares) is the formula's less MARGIN and at most that, what it takes (a buy's payment) the
        formula's plus MARGIN and at least that, each on the amounts that really moved. `limits` (off only to value
        a holding, `WeightedPoolMarket.worth`) refuses what Balancer's pool would: more than half a balance in,
        more than a third out, an exit of the whole supply, or a balance or the supply left below MIN_BALANCE.
        """
        what = what or f"{self.key}.{action}{side}"
        if not is_number(amount) or amount <= 0:
            check_amount(amount, what)  # raises, naming the action
        v = self.v
        on_a = side == "A"
        named, other = (v["ba"], v["bb"]) if on_a else (v["bb"], v["ba"])
        w_named, w_other = (v["wa"], v["wb"]) if on_a else (v["wb"], v["wa"])
        fee, supply = v["fee"], v["supply"]
        ticker = self.a if on_a else self.b
        new_supply = supply
        if action in ("sell", "join") and limits and amount > max_in(named):
            raise PoolRefusedError(what, f"it puts more than half of the pool's {ticker} in (Balancer's MAX_IN_RATIO)")
        if action == "sell":
            new_named = _in_at_most(named, amount)
            paid = calc_out_given_in(named, w_named, other, w_other, new_named - named, fee)
            new_other = _out_at_most(other, paid * (1 - MARGIN))
        elif action == "buy":
            if (limits and amount > max_out(named)) or amount >= named:
                raise PoolRefusedError(
                    what, f"it takes more than a third of the pool's {ticker} out (Balancer's MAX_OUT_RATIO)"
                )
            new_named = _out_at_most(named, amount)
            taken = calc_in_given_out(other, w_other, named, w_named, named - new_named, fee)
            new_other = _in_at_least(other, taken * (1 + MARGIN))
        elif action == "join":
            new_named, new_other = _in_at_most(named, amount), other
            minted = calc_pool_out_given_single_in(named, w_named, supply, 1.0, new_named - named, fee)
            new_supply = _in_at_most(supply, minted * (1 - MARGIN))
        elif action == "exit":
            if limits and amount >= supply:
                raise PoolRefusedError(what, f"it exits the whole supply of {self.shares}")
            new_supply, new_other = _out_at_most(supply, min(amount, supply)), other
            paid = calc_single_out_given_pool_in(named, w_named, supply, 1.0, supply - new_supply, fee)
            if limits and paid > max_out(named):
                raise PoolRefusedError(
                    what, f"it takes more than a third of the pool's {ticker} out (Balancer's MAX_OUT_RATIO)"
                )
            new_named = _out_at_most(named, paid * (1 - MARGIN))
        else:
            raise PluginError(f"{what}: no action {action!r} (buy, sell, join or exit)")
        new_a, new_b = (new_named, new_other) if on_a else (new_other, new_named)
        return self._checked(what, new_a, new_b, new_supply, limits)

    def _checked(self, what: str, ba: float, bb: float, supply: float, limits: bool) -> tuple[float, float, float]:
        """A quoted state, refused if it is not finite or (with `limits`) leaves anything below MIN_BALANCE."""
        if not (math.isfinite(ba) and math.isfinite(bb) and math.isfinite(supply)):
            raise PoolRefusedError(what, "the pool cannot price it")
        if limits and min(ba, bb, supply) < MIN_BALANCE:
            low = self.a if ba < MIN_BALANCE else self.b if bb < MIN_BALANCE else self.shares
            raise PoolRefusedError(what, f"it leaves the pool less than {MIN_BALANCE:g} {low} (Balancer's MIN_BALANCE)")
        return ba, bb, supply

    def settle(self, ba: float, bb: float, supply: float, swap: bool = False) -> None:
        """Move the pool to a quoted state; a `swap` counts in the volumes."""
        v = self.v
        if swap:
            v["volume_a"] += abs(ba - v["ba"])
            v["volume_b"] += abs(bb - v["bb"])
        v["ba"], v["bb"], v["supply"] = ba, bb, supply
        self._reprice()

    def _trade(self, action: str, token: str, amount: float, what: str) -> tuple[str, float, float, float]:
        """Quote and settle `action` on `token`; returns its side and the changes of `ba`, `bb` and the supply."""
        side = self.side_of(token)
        v = self.v
        before = v["ba"], v["bb"], v["supply"]
        after = self.quote(action, side, amount, what)
        self.settle(*after, swap=action in ("buy", "sell"))
        return side, after[0] - before[0], after[1] - before[1], after[2] - before[2]

    # --- what background players do

    def swap_in(self, token: str, amount: float) -> float:
        """Sell `amount` of `token` to the pool; returns the other token received."""
        side, da, db, _ = self._trade("sell", token, amount, f"{self.key}.swap_in")
        return -(db if side == "A" else da)

    def swap_out(self, token: str, amount: float) -> float:
        """Buy `amount` of `token` from the pool; returns the other token paid."""
        side, da, db, _ = self._trade("buy", token, amount, f"{self.key}.swap_out")
        return db if side == "A" else da

    def join(self, owner: str, token: str, amount: float) -> float:
        """Pay `amount` of `token` into the pool for new shares, credited to `owner`; returns the shares."""
        *_, minted = self._trade("join", token, amount, f"{self.key}.join")
        self.accounts[owner] = self.shares_of(owner) + minted
        return minted

    def exit(self, owner: str, token: str, shares: float) -> float:
        """Burn `shares` of `owner`'s for `token`; returns the token received."""
        what = f"{self.key}.exit"
        self._check_holding(owner, shares, what)
        side, da, db, supply_change = self._trade("exit", token, shares, what)
        self.accounts[owner] += supply_change  # minus the shares burned
        return -(da if side == "A" else db)

    def join_all(self, owner: str, shares: float) -> tuple[float, float]:
        """Mint `shares` for `owner` against both tokens in proportion (Balancer's `joinPool`); returns the A and B
        paid in (each its share of the balance, plus MARGIN)."""
        what = f"{self.key}.join_all"
        v = self.v
        supply = v["supply"]
        new_supply = _in_at_most(supply, check_amount(shares, what))
        ratio = (new_supply - supply) / supply
        if ratio == 0:
            raise PoolRefusedError(what, "it mints no share")
        ba = _in_at_least(v["ba"], v["ba"] * ratio * (1 + MARGIN))
        bb = _in_at_least(v["bb"], v["bb"] * ratio * (1 + MARGIN))
        paid = ba - v["ba"], bb - v["bb"]
        self.settle(*self._checked(what, ba, bb, new_supply, True))
        self.accounts[owner] = self.shares_of(owner) + (new_supply - supply)
        return paid

    def exit_all(self, owner: str, shares: float) -> tuple[float, float]:
        """Burn `shares` of `owner`'s for both tokens in proportion (Balancer's `exitPool`); returns the A and B
        received (each its share of the balance, less MARGIN)."""
        what = f"{self.key}.exit_all"
        self._check_holding(owner, shares, what)
        v = self.v
        supply = v["supply"]
        if shares >= supply:
            raise PoolRefusedError(what, f"it exits the whole supply of {self.shares}")
        new_supply = _out_at_most(supply, shares)
        ratio = (supply - new_supply) / supply
        ba = _out_at_most(v["ba"], v["ba"] * ratio * (1 - MARGIN))
        bb = _out_at_most(v["bb"], v["bb"] * ratio * (1 - MARGIN))
        received = v["ba"] - ba, v["bb"] - bb
        self.settle(*self._checked(what, ba, bb, new_supply, True))
        self.accounts[owner] -= supply - new_supply
        return received

    def _check_holding(self, owner: str, shares: float, what: str) -> None:
        held = self.shares_of(owner)
        if check_amount(shares, what) > held:
            raise PluginError(f"{what}: {owner!r} holds {held!r} {self.shares}, not {shares!r}")


def _gap(bigger: float, smaller: float, amount: float) -> int:
    """The sign of (bigger - smaller) - amount, exactly (a float subtraction is exact within a factor of two)."""
    if smaller <= bigger <= 2 * smaller:
        gap = bigger - smaller
        return (gap > amount) - (gap < amount)
    exact = units(bigger) - units(smaller) - units(amount)
    return (exact > 0) - (exact < 0)


def _in_at_most(balance: float, amount: float) -> float:
    """balance + amount rounded, moved down a float if the rounding took in more than `amount` (one float is enough:
    the rounding erred by at most half a float)."""
    raised = balance + amount
    return math.nextafter(raised, -math.inf) if _gap(raised, balance, amount) > 0 else raised


def _in_at_least(balance: float, amount: float) -> float:
    """balance + amount rounded, moved up a float if the rounding took in less than `amount`."""
    raised = balance + amount
    return math.nextafter(raised, math.inf) if _gap(raised, balance, amount) < 0 else raised


def _out_at_most(balance: float, amount: float) -> float:
    """balance - amount rounded, moved up a float if the rounding gave out more than `amount`."""
    lowered = balance - amount
    return math.nextafter(lowered, math.inf) if _gap(balance, lowered, amount) > 0 else lowered


def _log_ratio(after: float, before: float) -> float:
    """ln(after / before) for positive floats, to a few ulps of itself (the difference is exact within a factor of
    two, so a small change keeps its digits)."""
    if before <= 2 * after and after <= 2 * before:
        return math.log1p((after - before) / before)
    return math.log(after / before)


# --- the slot market ----------------------------------------------------------------------------------------------


def _docs() -> dict[str, Action]:
    """The market's actions, for token A and, mirrored, for token B."""
    actions = {}
    for side, a, b in (("A", "{a}", "{b}"), ("B", "{b}", "{a}")):
        docs = {
            "buy": ("amount", "buy `amount` {a} from the pool, paying {b} from your wallet; returns the {b} paid."),
            "sell": (
                "amount",
                "sell `amount` {a} from your wallet to the pool for {b}; returns minus the {b} received.",
            ),
            "join": (
                "amount",
                "pay `amount` {a} from your wallet into the pool for new {c} (a single-asset join: the swap fee is "
                "charged on the part of it not matching {a}'s weight); returns the {c} received.",
            ),
            "exit": (
                "shares",
                "return `shares` {c} from your wallet to the pool for {a} (a single-asset exit: the swap fee is "
                "charged on the part of it not matching {a}'s weight); returns the {a} received.",
            ),
        }
        for name, (param, doc) in docs.items():
            actions[f"{name}{side}"] = Action((param,), doc.format(a=a, b=b, c="{c}"))
    return actions


class WeightedPoolMarket(Market):
    """A Balancer weighted pool as a slot market: it holds its A and B balances and minus its share supply, so a join
    pays shares out of it and an exit takes them back in. A trade is the pool's quote (`WeightedPool.quote`: nothing
    from rounding for the trader); swaps return what a dex's do (`buyA` the B paid, `sellA` minus the B received),
    a join the shares received and an exit the token received."""

    plugin: WeightedPool
    actions: ClassVar[Mapping[str, Action]] = _docs()
    summary = (
        "a Balancer weighted pool trading {a} (token A) against {b} (token B), its liquidity owned in pool shares {c}."
        " Its state `v`: `ba` and `bb`, its {a} and {b} balances; `wa` and `wb`, their weights (wa + wb = 1); `fee`, "
        "the swap fee; `supply`, the {c} in existence; `pa`, the spot price of {a} in {b} before the fee "
        "((bb / wb) / (ba / wa)); `pb`, of {b} in {a}; `invariant` = ba^wa * bb^wb. Selling x {a} pays "
        "bb * (1 - (ba / (ba + x * (1 - fee)))^(wa / wb)) {b}; joining with x {a} mints "
        "supply * ((1 + x * (1 - (1 - wa) * fee) / ba)^wa - 1) {c}, and exiting burns {c} the same way back. A trade "
        "puts at most half of a balance in and takes at most a third of one out; every trade moves the price."
    )

    def __init__(self, plugin: WeightedPool, tickers: tuple[str, ...], owner: str) -> None:
        super().__init__(plugin, tickers, owner)
        self._before: tuple[float, float, float] | None = None  # the pool before the seat's last trade

    def reserves(self) -> Reserves:
        v = self.plugin.v
        return v["ba"], v["bb"], -v["supply"]

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        pool, v = self.plugin, self.plugin.v
        kind, side = action[:-1], action[-1]
        try:
            state = pool.quote(kind, side, args[0], f"{pool.key}.{action}")
        except PoolRefusedError as exc:
            raise RefusedError(exc.reason) from None
        except PluginError:
            raise RefusedError("the pool cannot fill it") from None
        return Quote((state[0], state[1], -state[2]), (*state, kind in ("buy", "sell")), _result(kind, side, v, state))

    def commit(self, quote: Quote) -> None:
        v = self.plugin.v
        self._before = v["ba"], v["bb"], v["supply"]
        self.plugin.settle(*quote.state)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        """What selling `amount` of `ticker` to the pool in one trade fetches in `quote`: a swap of A for B or back,
        a single-asset join (a token for shares) or exit (shares for a token: at most the whole supply), as its own
        quote would, without Balancer's per-trade limits (selling past them in parts would fetch no less)."""
        a, b, c = self.tickers
        pairs = {(a, b): "sellA", (b, a): "sellB", (a, c): "joinA", (b, c): "joinB", (c, a): "exitA", (c, b): "exitB"}
        action = pairs.get((ticker, quote))
        if action is None or amount <= 0:
            return None if action is None else 0.0
        pool = self.plugin
        kind, side = action[:-1], action[-1]
        try:
            state = pool.quote(kind, side, amount, f"{pool.key}.{action}", limits=False)
        except PluginError:
            return 0.0
        result = _result(kind, side, pool.v, state)
        return -result if kind == "sell" else result

    def audit(self) -> str | None:
        """The invariant per share, ba^wa * bb^wb / supply, never falls in the seat's trade, with no tolerance: its
        log's change wa ln(ba'/ba) + wb ln(bb'/bb) - ln(s'/s) is computed to a few ulps (2**-50) of its terms, and
        each quote's MARGIN (2**-40, over 100 times the formulas' own error) puts the true change above about
        MARGIN / 4 of those terms, so a trade quoted by the pool's rules is never below 0 here, and a fault that
        gives the trader more than 2**-50 of a trade shows. Fees make it grow."""
        if self._before is None:
            return None
        v = self.plugin.v
        ba, bb, supply = self._before
        change = v["wa"] * _log_ratio(v["ba"], ba) + v["wb"] * _log_ratio(v["bb"], bb) - _log_ratio(v["supply"], supply)
        if change >= 0:
            return None
        return f"the invariant per share fell: ln(after / before) = {change!r}"

    @classmethod
    def units(cls, action: str, tickers: tuple[str, ...]) -> tuple[str, str | None]:
        a, b = tickers[0], tickers[1]
        shares = tickers[2] if len(tickers) > 2 else ""
        named, other = (a, b) if action.endswith("A") else (b, a)
        return {"join": (named, shares), "exit": (shares, named)}.get(action[:-1], (named, other))

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, ...]) -> list[dict[str, str]]:
        a, b, c = tickers
        return [
            {"label": f"{key} {a}", "key": f"{key}.ba"},
            {"label": f"{key} {b}", "key": f"{key}.bb"},
            {"label": f"{key} {c} supply", "key": f"{key}.supply"},
        ]


def _result(kind: str, side: str, v: Mapping[str, float], state: tuple[float, float, float]) -> float:
    """What an action returns: a swap the other token's change in the pool (a buy the token paid in, a sale minus
    the token paid out), a join the shares minted, an exit the token paid out."""
    ba, bb, supply = state
    if kind in ("buy", "sell"):
        return bb - v["bb"] if side == "A" else ba - v["ba"]
    if kind == "join":
        return supply - v["supply"]
    return v["ba"] - ba if side == "A" else v["bb"] - bb


class WeightedPoolSpec(PluginSpec):
    """Options: `tokenA`, `tokenB` (tickers), `balanceA`, `balanceB` (initial balances), `weightA` (A's normalised
    weight, in [0.02, 0.98]; B's is 1 - weightA; default 0.5), `fee` (the swap fee, in [0, 0.1]; default 0.003),
    `shares` (the pool share's ticker, default "BPT"), `supply` (the initial shares, default Balancer's 100) and
    `owner` (the background player holding them, default "creator")."""

    kind = "weighted_pool"
    market = WeightedPoolMarket

    def tickers(self) -> tuple[str, str, str]:
        """The pool's tickers as the live plugin names them (upper case): token A, token B, the pool share."""
        return self.option("tokenA").upper(), self.option("tokenB").upper(), str(self.option("shares", "BPT")).upper()

    def _names(self, key: str) -> tuple[str, str, str, str, str]:
        a, b, shares = self.tickers()
        if len({a, b, shares}) < 3:
            raise PluginError(
                f"weighted_pool {key!r}: tokenA, tokenB and shares must be three tickers, got {a}, {b}, {shares}"
            )
        return a, b, shares, f"{key}_{a.lower()}", f"{key}_{b.lower()}"

    def variables(self, key: str) -> dict[str, Variable]:
        a, b, shares, ka, kb = self._names(key)
        iba, ibb, iwa, iwb = f"{ka}_ib", f"{kb}_ib", f"{ka}_iw", f"{kb}_iw"
        title = "Weighted Pool"
        return {
            iba: Variable(f"{title} ${a} Initial Balance", self.option("balanceA"), display={"type": a}),
            ibb: Variable(f"{title} ${b} Initial Balance", self.option("balanceB"), display={"type": b}),
            iwa: Variable(f"{title} ${a} Initial Weight", self.option("weightA", 0.5)),
            iwb: Variable(f"{title} ${b} Initial Weight", lambda g: 1 - g(iwa), display={"calc": f"1 - {iwa}"}),
            f"{key}_fee": Variable(f"{title} Swap Fee", self.option("fee", 0.003)),
            f"{key}_is": Variable(f"{title} ${shares} Initial Supply", self.option("supply", INIT_POOL_SUPPLY)),
            f"{ka}_ip": Variable(
                f"{title} ${a} Initial Price",
                lambda g: calc_spot_price(g(ibb), g(iwb), g(iba), g(iwa), 0.0),
                display={"type": b, "calc": f"({ibb} / {iwb}) / ({iba} / {iwa})"},
            ),
            f"{ka}_b": state_var(key, "ba", f"{title} ${a} Balance", type=a),
            f"{kb}_b": state_var(key, "bb", f"{title} ${b} Balance", type=b),
            f"{ka}_w": state_var(key, "wa", f"{title} ${a} Weight"),
            f"{kb}_w": state_var(key, "wb", f"{title} ${b} Weight"),
            f"{ka}_p": state_var(key, "pa", f"{title} ${a} Price", type=b),
            f"{kb}_p": state_var(key, "pb", f"{title} ${b} Price", type=a),
            f"{key}_s": state_var(key, "supply", f"{title} ${shares} Supply", type=shares),
            f"{ka}_vol": state_var(key, "volume_a", f"{title} ${a} Swap Volume", type=a),
            f"{kb}_vol": state_var(key, "volume_b", f"{title} ${b} Swap Volume", type=b),
            f"{key}_inv": state_var(key, "invariant", f"{title} Invariant"),
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> WeightedPool:
        a, b, shares, ka, kb = self._names(key)
        return WeightedPool(
            key, a, b, shares, v[f"{ka}_ib"], v[f"{kb}_ib"], v[f"{ka}_iw"], v[f"{key}_fee"], v[f"{key}_is"],
            str(self.option("owner", "creator")),
        )  # fmt: skip
