"""Built-in plugin kinds; importing this package registers them by `type` name."""

from simcore.plugins.base import Plugin, PluginSpec, check_amount
from simcore.plugins.dex import Dex, DexSpec
from simcore.plugins.token import Token, TokenSpec

__all__ = ["Dex", "DexSpec", "Plugin", "PluginSpec", "Token", "TokenSpec", "check_amount"]
