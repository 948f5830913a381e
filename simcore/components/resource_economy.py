"""The AI resource economy (seed 001, §7.4) as a component: its bounded parameters, run as the `resource_economy`
plugin (`simcore.plugins.resources`, whose module is part of this component's hash)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from simcore.components.base import Component
from simcore.plugins import resources
from simcore.plugins.resources import PARAMETERS, schedule


def _field(name: str) -> Any:
    """The pydantic field of a parameter of the economy: its default, inclusive bounds, description and unit, all
    from `PARAMETERS` (the plugin checks the same bounds when it builds)."""
    spec = PARAMETERS[name]
    extra = {"unit": spec.unit} if spec.unit else None
    return Field(spec.default, ge=spec.low, le=spec.high, description=spec.description, json_schema_extra=extra)


class ResourceEconomy(Component):
    """An economy of AI agents bidding daily for resources of limited capacity (compute, data and storage), priced
    by tâtonnement or by a bonding curve on each resource token's supply, allocated in proportion, by priority or
    by a sealed-bid auction, with producers whose capacity follows their margin, a capacity reward from the
    protocol's fees, and a shock. The formulas, with the paper's sections, are in `simcore.plugins.resources`; its
    KPIs (volatility, utilisation, unmet need, utility, the shock's deviation and recovery) are the plugin's state."""

    kind = "resource_economy"
    version = 1
    kpis = ("curve_price", "demand", "equilibrium_price")
    depends_on = (resources,)

    agents: int = _field("agents")
    capacity: float = _field("capacity")
    spread: float = _field("spread")
    noise: float = _field("noise")
    income: float = _field("income")
    budget: float = _field("budget")
    price: float = _field("price")
    eta: float = _field("eta")
    floor: float = _field("floor")
    curve_base: float = _field("curve_base")
    curve_slope: float = _field("curve_slope")
    curve_exponent: float = _field("curve_exponent")
    curve_supply: float = _field("curve_supply")
    fee: float = _field("fee")
    reward: float = _field("reward")
    cost: float = _field("cost")
    growth: float = _field("growth")
    shock_day: int = _field("shock_day")
    shock_length: int = _field("shock_length")
    shock_size: float = _field("shock_size")
    tolerance: float = _field("tolerance")
    rule: Literal["tatonnement", "bonding"] = Field("bonding", description="How prices move (§3.2 or §3.1).")
    allocation: Literal["proportional", "priority", "auction"] = Field(
        "auction", description="How a resource's capacity is shared among the bids at or above its price (§4.2)."
    )
    shock_kind: Literal["capacity", "demand"] = Field("capacity", description="What the shock multiplies.")
    currency: str = Field("USD", description="The currency's ticker (budgets, prices, payments).")
    utility: str = Field("UTIL", description="The ticker of the utility paid to a seated player's wallet.")

    def curve_price(self, supply: float) -> float:
        """The bonding curve's price at a token supply of `supply` days of capacity, as a share of a resource's value:
        the `bonding_curve` component's power law at these parameters, at least the floor."""
        return max(self.floor, resources.curve_price(supply, self.curve_base, self.curve_slope, self.curve_exponent))

    def demand(self, price: float) -> float:
        """The share of its need an agent whose preference is the resource's value bids for at `price` (a share of
        that value): its schedule's bids at or above the price."""
        return sum(qty for qty, limit in schedule(1.0, 1.0) if limit >= price)

    @property
    def equilibrium_price(self) -> float:
        """The price (a share of the value) at which an agent of average need and preference wants just the starting
        capacity, `capacity` of its need, by the demand its schedule approximates, need * (1 - price / 2): where the
        price rules head before capacity grows or shrinks."""
        return max(0.0, 2.0 * (1.0 - self.capacity))

    def plugin(self, key: str) -> dict[str, Any]:
        """The `resource_economy` plugin with these parameters (its variables are this component's)."""
        return {"type": "resource_economy", **self.model_dump()}
