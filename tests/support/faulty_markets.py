"""Pools that misbehave on purpose, for the tests of the seat and the ledger: the misbehaviour a test needs is
a hook it sets, run in the middle of a trade, where a finaliser fired by an allocation could run."""

from simcore.plugins import Dex, DexSpec


class HookedDex(Dex):
    """A pool that runs `HookedDex.hook` (when set) inside every quote: a collection, an exception, an action."""

    hook = None

    def quote(self, action, amount):
        if HookedDex.hook is not None:
            HookedDex.hook()
        return super().quote(action, amount)


class HookedDexSpec(DexSpec):
    """`HookedDex` as a scenario declares it: an AI/USDC pool with the usual options."""

    kind = "hooked_dex"

    def build(self, key, v, plugins, rng):
        return HookedDex(key, "AI", "USDC", v["dex_ai_il"], v["dex_usdc_il"], self.option("fee", 0))
