"""The slot's wallet, held exactly, and the audit that tokens are conserved across it and the slot's markets.

Balances are kept in exact units (`simcore.exact`); the player sees each rounded down to a float, so what it
sees it can spend. A trade is quoted on values, then settled from what the market's reserves gave up and took
in, exactly: the wallet gains what left the market and pays what entered it, never the market's own account of
the trade, in every ticker the market trades (two or more). A trade executes only when the wallet can pay and, on a
swap market (a pool, a curve), when the market moves both ways (the wallet gets at least one ticker and pays at
least one); a custody market (an order book) takes deposits and gives back what it owes the seat (`collect`, at
each turn and at the end of the run).

Conservation is audited in exact terms, for every token: the markets plus the wallet, less what the background
players moved into the markets, equal what there was at the start. What moves a market between the player's
turns is by definition the others' doing (background players and, in an arena, the other seats, each audited by
its own ledger), so the audit checks everything else:
- every trade: the market holds what was last accounted before it quotes, and exactly what it quoted after it
  commits;
- every turn: nothing but the player's settled trades moved a market while it played;
- the end of the run: for every ticker, the wallet changed by exactly what its trades took out of the markets
  trading it, recounted from every trade's reserves of that ticker before and after (`math.fsum` of floats is
  exactly zero only when their exact sum is).
A breach is an InvariantViolation naming the market or the token and the amounts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from simcore.errors import InvariantViolation
from simcore.exact import as_float, floor_float, units
from simcore.markets import Market, Quote, RefusedError, Reserves


class Ledger:
    """The wallet's exact balances and their floats (`view`), and the slot's markets as last accounted."""

    def __init__(self, wallet: Mapping[str, float], markets: Mapping[str, Market]) -> None:
        self.markets = markets
        self.balances = {ticker: units(amount) for ticker, amount in wallet.items()}
        self.view = {ticker: floor_float(amount) for ticker, amount in self.balances.items()}
        self._start_balances = dict(self.balances)
        self._seen = {key: market.reserves() for key, market in markets.items()}  # as last accounted
        # what the player's trades took out of each market, per ticker in the market's order, as floats that sum to
        # it exactly: before and -after, for each trade
        self._taken: dict[str, list[list[float]]] = {key: [[] for _ in m.tickers] for key, m in markets.items()}
        self._pairs = tuple(markets.items())
        self.refusal = ""  # why the last refused trade was refused, e.g. "not enough USDC"

    def begin_turn(self) -> None:
        """Note where the markets stand as the player's turn begins (the background players moved them)."""
        seen = self._seen
        for key, market in self._pairs:
            seen[key] = market.reserves()

    def trade(self, key: str, action: str, args: tuple[float, ...]) -> float | None:
        """Execute `action(*args)` on the market `key` and settle it; None if refused (nothing changes, and
        `refusal` says why: the market will not fill it, it moves a swap market only one way, or the wallet lacks
        a token).

        Returns what the market says the action returns (for a dex AI3's: minus the wallet's change in the ticker
        the action does not name). An InvariantViolation (without saying which action: the caller adds that) if
        the market moved since the turn began or its last trade, did not settle at its quote or broke its own
        invariant.
        """
        market = self.markets[key]
        if market.reserves() != self._seen[key]:
            raise InvariantViolation(
                f"invariant 'conservation' broken: {key} moved outside a trade: {_moved(market, self._seen[key])}"
            )
        try:
            quote = market.quote(action, args)
        except RefusedError as exc:
            self.refusal = str(exc)
            return None
        return self._settle(key, market, quote)

    def collect(self) -> None:
        """Take back what each custody market owes the seat (an order book's fills and expired reservations)."""
        for key, market in self._pairs:
            quote = market.collect()
            if quote is not None:
                seen = self._seen[key]
                if any(now > held for held, now in zip(seen, quote.reserves, strict=True)):
                    raise InvariantViolation(f"invariant 'conservation' broken: {key} took from the wallet to pay it")
                self._settle(key, market, quote)

    def _settle(self, key: str, market: Market, quote: Quote) -> float | None:
        """Commit a quoted trade and move the wallet by exactly what the market's reserves gave up and took in."""
        held, now = self._seen[key], quote.reserves
        gives = takes = False
        for before, after in zip(held, now, strict=True):
            if after < before:
                gives = True
            elif after > before:
                takes = True
        if market.swap and not (gives and takes):
            self.refusal = "too small to move the market"  # a swap must give a ticker and take one
            return None
        if not (gives or takes):
            self.refusal = "it moves nothing"
            return None
        tickers, balances = market.tickers, self.balances
        changes = zip(tickers, held, now, strict=True)
        moved = [balances[ticker] + _difference(before, after) for ticker, before, after in changes]
        short = next((ticker for ticker, balance in zip(tickers, moved, strict=True) if balance < 0), None)
        if short is not None:
            self.refusal = f"not enough {short}"
            return None
        market.commit(quote)
        if market.reserves() != now:
            raise InvariantViolation(f"invariant 'conservation' broken: {key} settled at {_moved(market, now)}")
        problem = market.audit()
        if problem is not None:
            raise InvariantViolation(f"invariant {key!r} broken: {problem}")
        view = self.view
        for ticker, balance in zip(tickers, moved, strict=True):
            balances[ticker] = balance
            view[ticker] = floor_float(balance)
        self._seen[key] = now
        for taken, before, after in zip(self._taken[key], held, now, strict=True):
            taken += (before, -after)
        return quote.result

    def end_turn(self) -> None:
        """The audit at the end of the player's turn: only its settled trades moved the markets."""
        seen = self._seen
        for key, market in self._pairs:
            if market.reserves() != seen[key]:
                moved = _moved(market, seen[key])
                raise InvariantViolation(f"invariant 'conservation' broken: {key} moved outside a trade: {moved}")

    def close(self, where: str) -> None:
        """The end of the run: what custody markets still owe the seat comes back, then the audit: the wallet
        changed by exactly what the trades took out of the markets, and no balance is negative."""
        self.begin_turn()
        self.collect()
        for ticker, balance in self.balances.items():
            taken = []
            for key, market in self._pairs:
                for traded, moves in zip(market.tickers, self._taken[key], strict=True):
                    if traded == ticker:
                        taken += moves
            gained = _expansion(balance - self._start_balances[ticker])
            if math.fsum(taken + [-x for x in gained]) != 0:
                extra = math.fsum(gained + [-x for x in taken])
                raise InvariantViolation(
                    f"invariant 'conservation' broken: {ticker}: the trades took {math.fsum(taken)!r} out of the "
                    f"markets, but the wallet changed by {math.fsum(gained)!r}: {extra!r} {ticker} appeared from "
                    f"nowhere ({where})"
                )
            if balance < 0:
                raise InvariantViolation(f"invariant 'non-negative' broken: {ticker} fell below 0 ({where})")


def _difference(before: float, after: float) -> int:
    """before - after, exactly in units (a float subtraction is exact within a factor of two)."""
    if after <= 2 * before and before <= 2 * after:
        return units(before - after)
    return units(before) - units(after)


def _expansion(amount: int) -> list[float]:
    """Floats whose exact sum is `amount` units (one or two for any balance a float can show)."""
    parts = []
    while amount:
        part = as_float(amount)
        parts.append(part)
        amount -= units(part)
    return parts


def _moved(market: Market, settled: Reserves) -> str:
    """What a market holds where it differs from what was settled, e.g. "USDC 1001.0 instead of 1000.0"."""
    return ", ".join(
        f"{ticker} {now!r} instead of {before!r}"
        for ticker, before, now in zip(market.tickers, settled, market.reserves(), strict=True)
        if before != now
    )
