"""Agents and netlists, TokenSPICE-style: agents with wallets, wired into a netlist that a run steps tick by tick.

Pure computation, like the rest of simcore; the built-in netlists are in `simcore.netlists`.
"""

from simcore.agents.grants import GrantGivingAgent, GrantTakingAgent
from simcore.agents.minter import FuncMinterAgent, RampedExpSchedule
from simcore.agents.netlist import Agent, Netlist, max_ticks, run
from simcore.agents.router import RouterAgent
from simcore.agents.wallet import OCEAN, USD, Wallet, WalletError
from simcore.agents.windows import RevenueWindows, TrailingSums

__all__ = [
    "OCEAN",
    "USD",
    "Agent",
    "FuncMinterAgent",
    "GrantGivingAgent",
    "GrantTakingAgent",
    "Netlist",
    "RampedExpSchedule",
    "RevenueWindows",
    "RouterAgent",
    "TrailingSums",
    "Wallet",
    "WalletError",
    "max_ticks",
    "run",
]
