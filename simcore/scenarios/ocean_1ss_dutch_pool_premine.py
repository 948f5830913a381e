"""Ocean Market V4.1: one-sided staking, a pool-run Dutch auction and a vested premine for the publisher.

As `ocean_1ss_dutch_pool`, and the publisher is paid 1,000 DT vesting linearly over a year for publishing.
"""

from simcore.components.ocean import DutchAuction, OneSidedStaking, VestedPremine
from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(
    variant(
        Variant("1SS + Dutch:Pool + Vested Premine", "bot",
                Launch(ocean=1_000, price=3 * CONSUME_VALUE, weight=0.3, share=0.7),
                {"staking": OneSidedStaking(reserve=7_000),
                 "auction": DutchAuction(run_by="pool", start=3, floor=0.3, days=7),
                 "premine": VestedPremine(total=1_000, duration=365)})
    )
)  # fmt: skip
