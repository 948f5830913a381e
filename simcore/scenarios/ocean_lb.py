"""Ocean Market V4.1 with a liquidity bootstrapping pool (LB): the DT's weight falls from 90 % to 30 % in 14 days.

The publisher seeds the pool with 1,000 DT at three times the consume value; with no trades the price would fall
21-fold as the weights move, so the IDO's buyers pay less for waiting. The publisher mints, as in V3.
"""

from simcore.components.ocean import LiquidityBootstrapping
from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(
    variant(
        Variant("LB", "publisher", Launch(ocean=3 * CONSUME_VALUE * 1_000 * 0.1 / 0.9, price=3 * CONSUME_VALUE,
                                          weight=0.9, share=1.0),
                {"lb": LiquidityBootstrapping(start_weight=0.9, end_weight=0.3, days=14)})
    )
)  # fmt: skip
