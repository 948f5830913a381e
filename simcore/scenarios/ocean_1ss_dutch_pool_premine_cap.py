"""Ocean Market V4.1 as the slides chose it: 1SS, a pool-run Dutch auction, a vested premine and a soft cap on the
volume:consume ratio.

As `ocean_1ss_dutch_pool_premine`, and the pool's swap fee rises from 0.1 % towards 10 % while the last week's swap
volume is more than ten times what consumers paid.
"""

from simcore.components.ocean import DutchAuction, OneSidedStaking, VestedPremine, VolumeCap
from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(
    variant(
        Variant("1SS + Dutch:Pool + Vested Premine + Soft Cap", "bot",
                Launch(ocean=1_000, price=3 * CONSUME_VALUE, weight=0.3, share=0.7),
                {"staking": OneSidedStaking(reserve=7_000),
                 "auction": DutchAuction(run_by="pool", start=3, floor=0.3, days=7),
                 "premine": VestedPremine(total=1_000, duration=365),
                 "cap": VolumeCap(ratio=10, window=7)})
    )
)  # fmt: skip
