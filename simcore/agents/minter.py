"""Minting on a schedule: the share of a total minted by a time, and the agent that mints it
(`assets/agents/MinterAgents.py`: `RampedExpFunc`, `OCEANFuncMinterAgent`; spec §5.5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from simcore.agents.netlist import S_PER_YEAR, Agent, Netlist, ticks_lasting
from simcore.agents.wallet import OCEAN

BITCOIN_NUM_HALF_LIVES = 34  # after this many half-lives the minter mints all that is left


@dataclass(frozen=True)
class RampedExpSchedule:
    """G(t): the share minted by `t` years, Bitcoin's 1 - 0.5^(t/H) ramped up in steps (multipliers m1..m3
    from t0, t1, t2, in full from t3). As the code computes it: the pieces G1..G3 are taken at the current t,
    not at the breakpoints as the class's docstring says (spec quirk 2)."""

    half_life: float
    t0: float
    t1: float
    t2: float
    t3: float
    m1: float
    m2: float
    m3: float

    def __call__(self, t: float) -> float:
        if t < self.t0:
            return 0.0
        f = self._f
        g1 = self.m1 * f(t - self.t0)
        g2 = self.m2 * f(t - self.t0) - self.m2 * f(self.t1 - self.t0) + g1
        g3 = self.m3 * f(t - self.t0) - self.m3 * f(self.t2 - self.t0) + g2
        if t < self.t1:
            return g1
        if t < self.t2:
            return g2
        if t < self.t3:
            return g3
        return (1.0 - g3) * f(t - self.t3) + g3

    def keep_minting(self, t: float) -> bool:
        """False once `t` is past BITCOIN_NUM_HALF_LIVES half-lives."""
        return t / self.half_life <= BITCOIN_NUM_HALF_LIVES

    def _f(self, t: float) -> float:
        return 1.0 - math.pow(0.5, t / self.half_life)


class FuncMinterAgent(Agent):
    """Mints OCEAN and sends it to `receiver`: first at tick 1, then whenever `seconds_between` have passed, the
    schedule's growth since the last mint times `total` (all that is left once the schedule stops)."""

    def __init__(
        self, name: str, receiver: Agent, total: float, seconds_between: int, schedule: RampedExpSchedule
    ) -> None:
        super().__init__(name)
        self.receiver = receiver
        self.total = total
        self.seconds_between = seconds_between
        self.schedule = schedule
        self.left = total
        self.minted = 0.0
        self.last_mint_tick: int | None = None
        self.next_mint_tick = 1  # never at tick 0; then `seconds_between` after the last mint

    def take_step(self, state: Netlist) -> None:
        tick, last = state.tick, self.last_mint_tick
        if tick < self.next_mint_tick or self.left == 0.0:
            return
        t = tick * state.tick_seconds / S_PER_YEAR
        t_last = 0.0 if last is None else last * state.tick_seconds / S_PER_YEAR
        amount = (self.schedule(t) - self.schedule(t_last)) * self.total
        if not self.schedule.keep_minting(t):
            amount = self.left
        amount = min(amount, self.left)
        self.minted += amount
        self.wallet.deposit(OCEAN, amount)
        self.wallet.transfer(OCEAN, amount, self.receiver.wallet)
        self.last_mint_tick = tick
        self.next_mint_tick = tick + ticks_lasting(self.seconds_between, state.tick_seconds)
        self.left -= amount
