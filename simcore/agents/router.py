"""An agent that passes on everything it receives, in set shares (`assets/agents/RouterAgent.py`, spec §5.3)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from simcore.agents.netlist import Agent, Netlist
from simcore.agents.wallet import OCEAN, USD, Wallet


class RouterAgent(Agent):
    """Each tick, sends each receiver its share of the USD it holds, then of the OCEAN.

    `receivers` are (agent, share) pairs, in sending order; a share is a function read at every transfer, so it
    may change during a run. The router notes what it holds at the start of each step (what it received since
    the last one, as it keeps nothing) for the last `keep` steps: `received` sums them.
    """

    def __init__(self, name: str, receivers: Sequence[tuple[Agent, Callable[[], float]]], keep: int = 0) -> None:
        super().__init__(name)
        self.receivers = tuple((agent.wallet, share) for agent, share in receivers)
        self._usd_held: deque[float] = deque(maxlen=keep)
        self._ocean_held: deque[float] = deque(maxlen=keep)

    def take_step(self, state: Netlist) -> None:
        wallet = self.wallet
        usd, ocean = wallet.balance(USD), wallet.balance(OCEAN)
        self._usd_held.append(usd)
        self._ocean_held.append(ocean)
        if usd > 0:
            for receiver, share in self.receivers:
                wallet.transfer(USD, share() * usd, receiver)
        if ocean > 0:
            for receiver, share in self.receivers:
                wallet.transfer(OCEAN, share() * ocean, receiver)

    def divert(self, account: Wallet) -> None:
        """Send everything to `account` from now on, instead of to the receivers: the seat of an evolved player who
        takes this router's place and decides what to do with what it receives. What it notes as received is
        unchanged."""
        self.receivers = ((account, _whole),)

    def received(self, token: str) -> float:
        """What it received of `token` over its last `keep` steps (`monthlyUSDreceived` for a month of them)."""
        return float(sum({USD: self._usd_held, OCEAN: self._ocean_held}[token]))


def _whole() -> float:
    return 1.0
