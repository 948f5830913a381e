"""The netlist plugin: a built-in netlist (`simcore.netlists`, TokenSPICE's wsloop) run inside a scenario, with a
seat in it for an evolved policy.

Each day's end runs a day of the netlist's ticks, and the plugin's state `v` holds its KPIs as they then stand:
day d's state is the netlist's log row of day d (`simcore.agents.netlist.run`), so AI3-style players read the
agents' economy and act beside it. Options name the netlist, its tick and its seat: a router whose place an evolved
player takes (for wsloop `ocean_dao`, OceanDAO, which gets 95 % of the network's revenue, the minted OCEAN and
OPF's grants to it, and passes it all to the workers as R&D). Without a player the router routes as wired.

As a slot market (`NetlistMarket`, a custody market) the seat's router diverts what it receives to the seat's
account from the seat's opening; what came in comes back to the player's wallet at its next turn (`collect`), and
the player pays into the loop what it chooses (`simcore.netlists.wsloop.SEAT_PAYMENTS`). What the market holds for
the seat (`reserves`) is everything it received and paid in, less what it collected; rounding never favours the
seat: a payment raises the reserves by at least its amount and a collect lowers them by at most what came in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, ClassVar

from simcore.agents import OCEAN, USD, RouterAgent, Wallet
from simcore.agents.netlist import S_PER_DAY, S_PER_HOUR
from simcore.checks import listed
from simcore.errors import PluginError
from simcore.exact import ceil_float, units
from simcore.markets import Action, Market, Quote, Reserves
from simcore.netlists import NETLISTS, SEAT_PAYMENTS, NetlistInfo
from simcore.plugins.base import Plugin, PluginSpec, state_var
from simcore.variables import Variable

TOKENS = (OCEAN, USD)  # what a seat holds and pays, in the market's order: the token, then the currency


class SeatAccount:
    """What the netlist holds for the seat, per token: `wallet` (where the seat's router diverts what it receives,
    swept once a day), `owed` (what came in since the player last collected) and `reserves` (the ledger's view:
    everything received and paid in, less what was collected). `received` and `paid` count, exactly in units
    (`simcore.exact`), what came in and what the player paid into the loop."""

    def __init__(self) -> None:
        self.wallet = Wallet()
        self.owed = dict.fromkeys(TOKENS, 0.0)
        self.reserves = dict.fromkeys(TOKENS, 0.0)
        self.received = dict.fromkeys(TOKENS, 0)
        self.paid = dict.fromkeys(TOKENS, 0)

    def sweep(self) -> None:
        """Move what the router diverted since the last sweep into what is owed to the seat."""
        wallet = self.wallet
        for token in TOKENS:
            amount = wallet.balance(token)
            if amount:
                wallet.transfer(token, amount, None)
                self.owed[token] += amount
                self.reserves[token] += amount
                self.received[token] += units(amount)

    def after(self, changes: Mapping[str, float]) -> Reserves:
        """The reserves once `changes` entered them (a negative change left them), each rounded up."""
        held = dict(self.reserves)
        for token, change in changes.items():
            if change:
                held[token] = ceil_float(units(held[token]) + units(change))
        return held[OCEAN], held[USD]

    def settle(self, reserves: Reserves) -> None:
        """Hold `reserves`, as a quote left them."""
        self.reserves = dict(zip(TOKENS, reserves, strict=True))


class NetlistPlugin(Plugin):
    """A netlist in a scenario: `end_day` runs a day of its ticks; `v` holds its KPIs (`NetlistInfo.state`)."""

    def __init__(self, key: str, info: NetlistInfo, tick: int, seat: Any) -> None:
        super().__init__(key)
        assert info.make is not None  # the spec checked it
        self.netlist = info.make(tick)
        self._ticks = S_PER_DAY // tick
        columns = self.netlist.columns
        self._picks = tuple((name, columns.index(kpi.column)) for name, kpi in info.state.items())
        routers = {agent.name: agent for agent in self.netlist.agents if isinstance(agent, RouterAgent)}
        if not isinstance(seat, str) or seat not in routers:
            raise PluginError(f"{key}: the seat must be one of the netlist's routers ({listed(routers)}), got {seat!r}")
        self.router = routers[seat]
        self.account: SeatAccount | None = None
        self.v = self._kpis()

    def _kpis(self) -> dict[str, float]:
        row = self.netlist.log_row()
        return {name: row[index] for name, index in self._picks}

    def take_seat(self) -> SeatAccount:
        """The seat's account, opened once: from now on the seat's router diverts what it receives there."""
        if self.account is not None:
            raise PluginError(f"{self.key}: the seat of {self.router.name!r} is taken; a netlist has one seat")
        self.account = SeatAccount()
        self.router.divert(self.account.wallet)
        return self.account

    def end_day(self, day: int) -> None:
        """Run a day of ticks, sweep what the seat received and note the KPIs."""
        netlist = self.netlist
        step = netlist.take_step
        for _ in range(self._ticks):
            step()
            netlist.tick += 1
        if self.account is not None:
            self.account.sweep()
        self.v.update(self._kpis())


class NetlistMarket(Market):
    """The seat in a netlist as a slot market: a custody market. What the seat's router received since the last
    turn is collected into the wallet; each action pays its amount from the wallet into the loop."""

    plugin: NetlistPlugin
    swap = False
    actions: ClassVar[Mapping[str, Action]] = {
        "fund": Action(
            ("amount",), "pay `amount` {b} of yours to the workers as R&D (they spend it at the next tick); returns it."
        ),
        "grant": Action(
            ("amount",),
            "pay `amount` {a} of yours to the workers as R&D, worth its price when they spend it at the next tick; "
            "returns it.",
        ),
        "burn": Action(
            ("amount",),
            "pay `amount` {b} of yours to the burner, which buys {a} with it at the next tick (the price rises as it "
            "buys) and burns it; returns it.",
        ),
        "retire": Action(("amount",), "burn `amount` {a} of yours: it leaves the supply at once; returns it."),
    }
    summary = (
        "TokenSPICE's Web3 sustainability loop, a day of which runs after each day's turns, with you in the seat of "
        "one of its routers (OceanDAO's, which receives 95 % of the network's revenue in {b}, the minted {a} and "
        "grants of {a}): what it receives is in your wallet at your next turn instead of going on. The marketplaces "
        "grow at a yearly rate set by the last month's R&D spend over the last month's network revenue "
        "(`rnd_to_sales`): -11.8 % without R&D, +41.5 % at most, half way at a ratio of 0.6; the network's revenue is"
        " 0.2 % of their sales. The {a} price is (30 times the last year's network revenue + a speculative valuation)"
        " / the {a} supply. Its state `v`: `price` ({b} per {a}), `supply`, `minted`, `burned` ({a}), `revenue` and "
        "`annual_revenue` (network revenue over the last month and year, {b}), `rnd` (R&D spend over the last month, "
        "{b}), `rnd_to_sales`, `growth` (the marketplaces' yearly growth rate), `marketplaces`, `valuation`, "
        "`fundamentals` (30 times the last year's network revenue), `speculation`, `dao_usd` and `dao_ocean` (what "
        "the DAO received over the last month)."
    )

    def __init__(self, plugin: NetlistPlugin, tickers: tuple[str, str], owner: str) -> None:
        super().__init__(plugin, tickers, owner)
        self.account = plugin.take_seat()

    @classmethod
    def tickers_of(cls, spec: PluginSpec, plugins: Mapping[str, PluginSpec]) -> tuple[str, str]:
        return TOKENS

    def reserves(self) -> Reserves:
        held = self.account.reserves
        return held[OCEAN], held[USD]

    def quote(self, action: str, args: tuple[float, ...]) -> Quote:
        amount = float(args[0])
        return Quote(self.account.after({SEAT_PAYMENTS[action]: amount}), (action, amount), amount)

    def commit(self, quote: Quote) -> None:
        account, action = self.account, quote.state[0]
        account.settle(quote.reserves)
        if action == "collect":
            account.owed = dict.fromkeys(TOKENS, 0.0)
        else:
            amount = quote.state[1]
            account.paid[SEAT_PAYMENTS[action]] += units(amount)
            self.plugin.netlist.pay(action, amount)

    def collect(self) -> Quote | None:
        account = self.account
        if not any(account.owed.values()):
            return None
        return Quote(account.after({token: -owed for token, owed in account.owed.items()}), ("collect",), 0.0)

    def worth(self, ticker: str, amount: float, quote: str) -> float | None:
        """At the loop's price: the seat can sell no OCEAN into it, and its burns raise that price, so a game on it
        scores one of its KPIs, not `value`."""
        return amount * self.plugin.netlist.ocean_price() if (ticker, quote) == self.tickers else None

    @classmethod
    def units(cls, action: str, tickers: tuple[str, str]) -> tuple[str, str | None]:
        ticker = tickers[TOKENS.index(SEAT_PAYMENTS[action])]
        return ticker, ticker

    @classmethod
    def lines(cls, key: str, tickers: tuple[str, str]) -> list[dict[str, str]]:
        return [{"label": f"{key} {tickers[0]} price", "key": f"{key}.price"}]


class NetlistSpec(PluginSpec):
    """Options: `netlist` (a built-in netlist a scenario can run: `wsloop`), `tick` (seconds a tick lasts, a whole
    divisor of a day; default TokenSPICE's hour) and `seat` (the router an evolved player replaces; default
    `ocean_dao`). Generated variables: `K_NAME` for each KPI of the netlist's state, read at the end of the run
    (for wsloop `K_price`, `K_supply`, `K_revenue`, `K_fundamentals`, ...)."""

    kind = "netlist"
    market = NetlistMarket

    def info(self) -> NetlistInfo:
        """The built-in netlist the options name; a PluginError if it is none a scenario can run."""
        runnable = sorted(name for name, info in NETLISTS.items() if info.make is not None)
        name = self.option("netlist")
        if name not in runnable:
            raise PluginError(f"netlist option 'netlist' must be one of {listed(runnable)}, got {name!r}")
        return NETLISTS[name]

    def variables(self, key: str) -> dict[str, Variable]:
        return {
            f"{key}_{name}": state_var(key, name, kpi.name, **({"type": kpi.unit} if kpi.unit else {}))
            for name, kpi in self.info().state.items()
        }

    def build(self, key: str, v: Mapping[str, Any], plugins: Mapping[str, Plugin], rng: random.Random) -> Plugin:
        tick = self.option("tick", S_PER_HOUR)
        if type(tick) is not int or tick <= 0 or S_PER_DAY % tick:
            raise PluginError(f"netlist option 'tick' must be a whole number of seconds dividing a day, got {tick!r}")
        return NetlistPlugin(key, self.info(), tick, self.option("seat", "ocean_dao"))
