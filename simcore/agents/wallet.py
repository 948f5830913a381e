"""An agent's wallet: balances of USD and of tokens, moved by TokenSPICE's rules (`engine/AgentWallet.py`, spec §4).

TokenSPICE keeps USD as a Python float and tokens (OCEAN) as ERC20 balances on a local chain; the two follow
slightly different rules, and this wallet keeps both in floats (the spec's "float ledger", equivalent for the
models here):
- USD: an amount within 1e-12 (relative) of the balance takes all of it; otherwise an amount above the balance
  is first rounded to 12 decimals, and is an overdraft only if it still exceeds the balance. The receiver gets
  the amount asked for, rounded or not.
- any other token: a zero amount is a no-op; an amount within 1e-12 of the balance sends the whole balance (the
  receiver gets the balance); an amount above the balance is an overdraft.
Negative (or NaN) amounts and overdrafts raise a WalletError. Sending to no wallet spends the money: it leaves
the economy (OCEAN goes to a dead address and is not counted as burned).
"""

from __future__ import annotations

from simcore.errors import SimulationError

USD = "USD"
OCEAN = "OCEAN"
_TOLERANCE = 1e-12
_LOW, _HIGH = 1.0 - _TOLERANCE, 1.0 + _TOLERANCE  # "amount / balance" in this band means "all of it"


class WalletError(SimulationError):
    """A wallet was asked to take or give a negative amount, or to give more than it holds."""


class Wallet:
    """Balances by token name (`USD`, `OCEAN`, …); a token never held has a balance of 0."""

    __slots__ = ("_balances",)

    def __init__(self, **balances: float) -> None:
        for token, amount in balances.items():
            if not amount >= 0.0:
                raise _bad_amount(token, amount, "hold")
        self._balances = dict(balances)

    def __repr__(self) -> str:
        return f"Wallet({', '.join(f'{token}={amount!r}' for token, amount in self._balances.items())})"

    def balance(self, token: str) -> float:
        """What the wallet holds of `token`."""
        return self._balances.get(token, 0.0)

    def deposit(self, token: str, amount: float) -> None:
        """Add `amount` (>= 0) of `token`: money that comes from outside the wallets (sales, minting)."""
        if not amount >= 0.0:
            raise _bad_amount(token, amount, "deposit")
        balances = self._balances
        balances[token] = balances.get(token, 0.0) + amount

    def transfer(self, token: str, amount: float, to: Wallet | None) -> None:
        """Move `amount` of `token` to the wallet `to`, or spend it if `to` is None, by the rules above."""
        if not amount >= 0.0:
            raise _bad_amount(token, amount, "send")
        balances = self._balances
        balance = balances.get(token, 0.0)
        if token == USD:  # AgentWallet.withdrawUSD; the receiver gets the amount asked for
            if amount > 0.0 and balance > 0.0 and _LOW <= amount / balance <= _HIGH:
                balance = amount
            taken = amount if amount <= balance else round(amount, 12)
        else:  # AgentWallet.transferOCEAN; the receiver gets what is taken
            if amount == 0.0:
                return
            if balance > 0.0 and _LOW <= amount / balance <= _HIGH:
                amount = balance
            taken = amount
        if taken > balance:
            raise WalletError(f"cannot send {amount!r} {token}: the wallet holds only {balance!r}")
        balances[token] = balance - taken
        if to is not None:
            received = to._balances
            received[token] = received.get(token, 0.0) + amount


def _bad_amount(token: str, amount: float, action: str) -> WalletError:
    return WalletError(f"cannot {action} {amount!r} {token}: amounts must be zero or more")
