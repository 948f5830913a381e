"""Built-in plugin kinds; importing this package registers them by `type` name."""

from simcore.plugins.base import Plugin, PluginSpec, check_amount
from simcore.plugins.bonding import Bonding, BondingSpec
from simcore.plugins.dex import Dex, DexSpec
from simcore.plugins.netlist import NetlistMarket, NetlistPlugin, NetlistSpec
from simcore.plugins.orderbook import OrderBook, OrderBookSpec
from simcore.plugins.token import Token, TokenSpec
from simcore.plugins.vc import Vc, VcSpec

__all__ = [
    "Bonding",
    "BondingSpec",
    "Dex",
    "DexSpec",
    "NetlistMarket",
    "NetlistPlugin",
    "NetlistSpec",
    "OrderBook",
    "OrderBookSpec",
    "Plugin",
    "PluginSpec",
    "Token",
    "TokenSpec",
    "Vc",
    "VcSpec",
    "check_amount",
]
