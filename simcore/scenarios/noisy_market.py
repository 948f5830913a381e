"""The hidden-bots market with a pool fee and a noise trader: every seed its own fee, bots and random flows.

As `hidden_bots`, plus a fee on the pool and a trader buying or selling random amounts most days (see
`simcore.bots`), so the pool's path depends on the seed's noise as well. No exact solver is known: its reference
is the best clairvoyant plan found, a lower bound on the optimum.
"""

from simcore import bots, optimum, references

vars = bots.market_vars("$AI Noisy Market", fee=True, noise=True)

before = bots.before
players = [*bots.BOTS, bots.NOISE]
graphs = bots.GRAPHS
slot = bots.slot(bots.GOAL.format(extra=", the fee and the noise trader's scale"), bots.HIDDEN + bots.NOISE_HIDDEN)
game = {
    "train": bots.TRAIN,
    "heldout": bots.HELDOUT,
    "optimum": optimum.lower_bound,
    "reference": references.threshold_reference,
    "tests": "Inferring hidden bots through a fee and random flows; the optimum (a lower bound) foresees the flows.",
}
