"""Ocean Market V4.1 with one-sided staking and a pool-run Dutch auction (1SS + Dutch:Pool).

The pool opens at three times the consume value and, for a week, the staking bot adds DT whenever the price is above
the auction's (falling to 0.3 times the consume value), so buyers buy from the pool and the proceeds stay in it.
"""

from simcore.components.ocean import DutchAuction, OneSidedStaking
from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(
    variant(
        Variant("1SS + Dutch:Pool", "bot", Launch(ocean=1_000, price=3 * CONSUME_VALUE, weight=0.3, share=0.7),
                {"staking": OneSidedStaking(reserve=7_000),
                 "auction": DutchAuction(run_by="pool", start=3, floor=0.3, days=7)})
    )
)  # fmt: skip
