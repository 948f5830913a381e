"""Built-in plugin kinds; importing this package registers them by `type` name."""

from simcore.plugins.base import Plugin, PluginSpec, check_amount
from simcore.plugins.bonding import Bonding, BondingSpec
from simcore.plugins.dex import Dex, DexSpec
from simcore.plugins.netlist import NetlistMarket, NetlistPlugin, NetlistSpec
from simcore.plugins.ocean import (
    DatatokenSpec,
    DutchAuctionSpec,
    PremineSpec,
    PublisherMarket,
    SideStakingSpec,
    VolumeCapSpec,
    WeightScheduleSpec,
)
from simcore.plugins.ocean_agents import CommunitySpec
from simcore.plugins.orderbook import OrderBook, OrderBookSpec
from simcore.plugins.resources import ResourceEconomySpec, ResourceMarket
from simcore.plugins.token import Token, TokenSpec
from simcore.plugins.vc import Vc, VcSpec
from simcore.plugins.weighted import WeightedPool, WeightedPoolMarket, WeightedPoolSpec

__all__ = [
    "Bonding",
    "BondingSpec",
    "CommunitySpec",
    "DatatokenSpec",
    "Dex",
    "DexSpec",
    "DutchAuctionSpec",
    "NetlistMarket",
    "NetlistPlugin",
    "NetlistSpec",
    "OrderBook",
    "OrderBookSpec",
    "Plugin",
    "PluginSpec",
    "PremineSpec",
    "PublisherMarket",
    "ResourceEconomySpec",
    "ResourceMarket",
    "SideStakingSpec",
    "Token",
    "TokenSpec",
    "Vc",
    "VcSpec",
    "VolumeCapSpec",
    "WeightScheduleSpec",
    "WeightedPool",
    "WeightedPoolMarket",
    "WeightedPoolSpec",
    "check_amount",
]
