"""Ocean Market V4.1 as the slides chose it (`ocean_1ss_dutch_pool_premine_cap`) with a market that never settles:
IDO buyers keep coming for all 60 days and a momentum speculator looks at the price every day, so the swap volume
stays far above ten times what consumers pay and the soft cap's fee should sit at its maximum in equilibrium too.
"""

from simcore.components.ocean import DutchAuction, OceanAgents, OneSidedStaking, VestedPremine, VolumeCap
from simcore.scenarios._ocean import CONSUME_VALUE, DAYS, Launch, Variant, variant

globals().update(
    variant(
        Variant("1SS + Dutch:Pool + Vested Premine + Soft Cap, churning", "bot",
                Launch(ocean=1_000, price=3 * CONSUME_VALUE, weight=0.3, share=0.7),
                {"staking": OneSidedStaking(reserve=7_000),
                 "auction": DutchAuction(run_by="pool", start=3, floor=0.3, days=7),
                 "premine": VestedPremine(total=1_000, duration=365),
                 "cap": VolumeCap(ratio=10, window=7)})
    )
)  # fmt: skip
components["agents"] = OceanAgents(hype_days=DAYS, spec_rate=1.0)  # noqa: F821 (set by variant above)
