"""Ocean Market V4.1 with one-sided staking and a publisher-run Dutch auction (1SS + Dutch:Pub).

The publisher auctions 1,000 DT for a week, from three times the consume value down to 0.3 times it, and keeps the
proceeds; the pool (seeded as in 1SS) opens when the auction ends, the bot bringing its price to the auction's last.
"""

from simcore.components.ocean import DutchAuction, OneSidedStaking
from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(
    variant(
        Variant("1SS + Dutch:Pub", "bot", Launch(ocean=1_000, price=CONSUME_VALUE, weight=0.3, share=0.7),
                {"staking": OneSidedStaking(reserve=7_000),
                 "auction": DutchAuction(run_by="publisher", start=3, floor=0.3, days=7, tranche=1_000)})
    )
)  # fmt: skip
