"""Typed, parameterised, content-hashed components (the tecmns library idea, on pydantic): bonding curves (power law
and sigmoid), vesting, a minting schedule and a weighted pool, each describable, bounded and looked up by kind; a
scenario composes them (`components = {key: component}`)."""

from simcore.components.base import COMPONENTS, HASH_LENGTH, Component, as_component, component
from simcore.components.bonding_curve import BondingCurve, SigmoidBondingCurve
from simcore.components.minting_schedule import MintingSchedule
from simcore.components.resource_economy import ResourceEconomy as ResourceEconomy
from simcore.components.vesting import Vesting
from simcore.components.weighted_pool import WeightedPool

__all__ = [
    "COMPONENTS",
    "HASH_LENGTH",
    "BondingCurve",
    "Component",
    "MintingSchedule",
    "SigmoidBondingCurve",
    "Vesting",
    "WeightedPool",
    "as_component",
    "component",
]
