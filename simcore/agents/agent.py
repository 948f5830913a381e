"""What every agent is (`engine/AgentBase.py`): a name, a wallet, and the work it does once a tick."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from simcore.agents.wallet import Wallet

if TYPE_CHECKING:
    from simcore.agents.netlist import Netlist


class Agent(ABC):
    """An agent of a netlist; `Agent(name, USD=…, OCEAN=…)` starts it with those balances."""

    def __init__(self, name: str, **balances: float) -> None:
        self.name = name
        self.wallet = Wallet(**balances)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.wallet!r})"

    @abstractmethod
    def take_step(self, state: Netlist) -> None:
        """Do this tick's work; `state.tick` is the tick being run."""
