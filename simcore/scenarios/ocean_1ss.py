"""Ocean Market V4.1 with one-sided staking (1SS): a staking bot holds the DT and matches every stake.

The publisher seeds the pool with 1,000 OCEAN at the consume value and the bot adds the DT beside it; stakers add
OCEAN alone and the bot adds the DT that keeps the price, so staking does not move it. Only the bot mints.
"""

from simcore.components.ocean import OneSidedStaking
from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(
    variant(
        Variant("1SS", "bot", Launch(ocean=1_000, price=CONSUME_VALUE, weight=0.3, share=0.7),
                {"staking": OneSidedStaking(reserve=7_000)})
    )
)  # fmt: skip
