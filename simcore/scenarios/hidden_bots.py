"""A fee-free $AI/USDC pool and two threshold bots whose thresholds, sizes and starting reserves are hidden.

Each seed draws its own market (see `simcore.bots`): the pool's starting reserves, the buyer's threshold and
size, the seller's. The pool has no fee, so an exact solver finds each seed's best score (`simcore.optimum`).
"""

from simcore import bots, optimum, references

vars = bots.market_vars("$AI Hidden Bots")

before = bots.before
players = bots.BOTS
graphs = bots.GRAPHS
slot = bots.slot(bots.GOAL.format(extra=""), bots.HIDDEN)
game = {
    "train": bots.TRAIN,
    "heldout": bots.HELDOUT,
    "optimum": optimum.exact_optimum,
    "reference": references.threshold_reference,
    "tests": "Inferring hidden bots' thresholds and sizes from the pool, then trading just at their thresholds.",
}
