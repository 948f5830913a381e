"""Agents, a netlist of them and its run, as TokenSPICE runs one (`engine/SimEngine.py`, `AgentBase.py`).

A netlist is a set of agents wired together, updated in a fixed order once a tick, and its KPIs, recorded at the
end of every tick. The run (spec §2) executes ticks 0, 1, … up to and including `max_ticks` and logs one row at
the start of every tick that begins a day (`tick * tick_seconds` a multiple of a day), computed from the state
before that tick's updates: so the last tick executed is logged only if it begins a day.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from simcore.agents.wallet import Wallet
from simcore.errors import SimulationError

if TYPE_CHECKING:
    import pandas as pd

# TokenSPICE's time base (`util/constants.py`, spec §1): a month is 30 days, a year 365.
S_PER_MIN = 60
S_PER_HOUR = 3600
S_PER_DAY = 86_400
S_PER_MONTH = 30 * S_PER_DAY
S_PER_YEAR = 365 * S_PER_DAY

ENGINE_COLUMNS = ("Tick", "Second", "Min", "Hour", "Day", "Month", "Year")


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


class Netlist(ABC):
    """A netlist's state during a run: the tick, the tick length in seconds and the agents in update order.

    Subclasses record their KPIs in `end_step` and name their logged values in `columns`, in `log_row`'s order.
    """

    columns: ClassVar[tuple[str, ...]]

    def __init__(self, tick_seconds: int, agents: Sequence[Agent]) -> None:
        if not isinstance(tick_seconds, int) or tick_seconds <= 0:
            raise SimulationError(f"a tick is a whole number of seconds, at least 1; got {tick_seconds!r}")
        self.tick = 0
        self.tick_seconds = tick_seconds
        self.agents = tuple(agents)
        self._steps = tuple(agent.take_step for agent in self.agents)
        self._by_name = {agent.name: agent for agent in self.agents}
        if len(self._by_name) != len(self.agents):
            raise SimulationError(f"agent names must be unique: {[agent.name for agent in self.agents]}")

    def agent(self, name: str) -> Agent:
        """The agent called `name`."""
        return self._by_name[name]

    def take_step(self) -> None:
        """One tick: every agent in order, then `end_step`."""
        for step in self._steps:
            step(self)
        self.end_step()

    @abstractmethod
    def end_step(self) -> None:
        """After the agents: record this tick's KPIs and update what changes with time alone."""

    @abstractmethod
    def log_row(self) -> tuple[float, ...]:
        """The values of `columns` now (at the start of `tick`, before its updates)."""


def max_ticks(seconds: float, tick_seconds: int) -> float:
    """The last tick a run of `seconds` executes, as `SimStrategyBase.setMaxTime` computes it (a float).

    One tick more than the horizon: a 10-day run of hourly ticks executes ticks 0..241 (241.0) and logs days 0..10.
    """
    return seconds / tick_seconds + 1


def ticks_lasting(seconds: int, tick_seconds: int) -> int:
    """The fewest ticks that last at least `seconds`: an agent acting "every `seconds`" acts that many ticks apart."""
    return -(-seconds // tick_seconds)


def run(netlist: Netlist, last_tick: float) -> pd.DataFrame:
    """Run `netlist` through ticks 0..`last_tick` (spec §2); the logged rows, a column per engine and netlist value."""
    import pandas as pd  # here, not at the top: importing simcore stays cheap (DESIGN.md)

    seconds_per_tick = netlist.tick_seconds
    take_step = netlist.take_step
    log_row = netlist.log_row
    rows = []
    tick = 0
    while True:
        netlist.tick = tick
        seconds = tick * seconds_per_tick
        if seconds % S_PER_DAY == 0:
            s = float(seconds)
            engine_values = (
                float(tick),
                s,
                s / S_PER_MIN,
                s / S_PER_HOUR,
                s / S_PER_DAY,
                s / S_PER_MONTH,
                s / S_PER_YEAR,
            )
            rows.append(engine_values + log_row())
        take_step()
        if tick >= last_tick:
            break
        tick += 1
    return pd.DataFrame(rows, columns=[*ENGINE_COLUMNS, *netlist.columns])
