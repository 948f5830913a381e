"""Typed, parameterised, content-hashed components (the tecmns library idea, on pydantic): a bonding curve,
vesting, a minting schedule and a weighted pool, each describable, bounded and looked up by kind."""

from simcore.components.base import COMPONENTS, HASH_LENGTH, Component, component
from simcore.components.bonding_curve import BondingCurve
from simcore.components.minting_schedule import MintingSchedule
from simcore.components.vesting import Vesting
from simcore.components.weighted_pool import WeightedPool

__all__ = [
    "COMPONENTS",
    "HASH_LENGTH",
    "BondingCurve",
    "Component",
    "MintingSchedule",
    "Vesting",
    "WeightedPool",
    "component",
]
