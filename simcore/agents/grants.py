"""Grants: a treasury paying a receiver in equal instalments, and workers who spend what they get
(`assets/agents/GrantGivingAgent.py`, `GrantTakingAgent.py`, spec §5.6-5.7)."""

from __future__ import annotations

from collections.abc import Callable

from simcore.agents.netlist import Agent, Netlist, ticks_lasting
from simcore.agents.wallet import OCEAN, USD


class GrantGivingAgent(Agent):
    """Pays `receiver` 1/`n_grants` of its starting USD and OCEAN (or what is left, if less) at its first step
    and then whenever `seconds_between` have passed since the last grant; after `n_grants` it pays what rounding
    left, then nothing."""

    def __init__(
        self, name: str, receiver: Agent, *, seconds_between: int, n_grants: int, usd: float = 0.0, ocean: float = 0.0
    ) -> None:
        super().__init__(name, USD=usd, OCEAN=ocean)
        self.receiver = receiver
        self.seconds_between = seconds_between
        self.usd_per_grant = usd / n_grants
        self.ocean_per_grant = ocean / n_grants
        self.next_grant_tick = 0  # the first tick at which `seconds_between` will have passed since the last grant

    def take_step(self, state: Netlist) -> None:
        if state.tick < self.next_grant_tick:
            return
        wallet, receiver = self.wallet, self.receiver.wallet
        wallet.transfer(USD, min(wallet.balance(USD), self.usd_per_grant), receiver)
        wallet.transfer(OCEAN, min(wallet.balance(OCEAN), self.ocean_per_grant), receiver)
        self.next_grant_tick = state.tick + ticks_lasting(self.seconds_between, state.tick_seconds)


class GrantTakingAgent(Agent):
    """Spends everything it holds each tick; `spent_at_tick` is its value in USD, OCEAN at `ocean_price()`."""

    def __init__(self, name: str, ocean_price: Callable[[], float]) -> None:
        super().__init__(name)
        self.ocean_price = ocean_price
        self.spent_at_tick = 0.0

    def take_step(self, state: Netlist) -> None:
        wallet = self.wallet
        usd, ocean = wallet.balance(USD), wallet.balance(OCEAN)
        self.spent_at_tick = usd + ocean * self.ocean_price()
        if usd:  # sending nothing changes nothing
            wallet.transfer(USD, usd, None)
        if ocean:
            wallet.transfer(OCEAN, ocean, None)
