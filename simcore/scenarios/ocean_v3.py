"""Ocean Market V3: the publisher seeds a 70/30 OCEAN/DT Balancer pool with 100 DT and may mint more at will.

Stakers add OCEAN alone (a single-asset join), so each stake raises the DT price; nothing caps what the publisher can
mint and sell into the pool. The scenario's parts are shared by every Ocean Market variant (`_ocean`).
"""

from simcore.scenarios._ocean import CONSUME_VALUE, Launch, Variant, variant

globals().update(  # the scenario's vars, components, players, slot, game, ...
    variant(
        Variant(
            "Ocean V3",
            "publisher",
            Launch(ocean=100 * CONSUME_VALUE * 0.7 / 0.3, price=CONSUME_VALUE, weight=0.3, share=1.0),
        )
    )
)
