"""Two evolved players share the hidden-bots market: a fee-free $AI/USDC pool with hidden threshold bots.

The market is `hidden_bots`' (see `simcore.bots`): each seed draws the pool's starting reserves and the bots'
thresholds and sizes, all hidden. The slot has `SEATS` seats (keys `player1`, `player2`): each rival trades the
same pool with its own 50 USDC wallet, and what one takes from the bots the others cannot. `arena4` is the
four-seat variant; a file of three lines makes any other: import this module's parts and declare
`slot = arena_slot(3)`. Played alone (`simcore.play`), a candidate sits in the first seat and the others play the
game's reference player (`simcore.references.threshold_reference`).
"""

from typing import Any

from simcore import bots, references

SEATS = 2
GOAL = (
    "Start with 50 USDC and end the year with as much USDC as possible. You share the pool with {rivals} rival "
    "player{s}, each with its own 50 USDC, taking turns with you each day (who goes first changes from seed to "
    "seed): what a rival takes from the bots you cannot. The pool's starting reserves and the bots' thresholds "
    "and trade sizes are drawn per seed and hidden: infer them from what you observe."
)

vars = bots.market_vars("$AI Arena")


def arena_slot(seats: int) -> dict[str, Any]:
    """The hidden-bots slot with `seats` seats and a goal that says how many rivals there are."""
    rivals = seats - 1
    goal = GOAL.format(rivals=rivals, s="s" if rivals > 1 else "")
    return {**bots.slot(goal, bots.HIDDEN), "seats": seats}


before = bots.before
players = bots.BOTS
graphs = bots.GRAPHS
slot = arena_slot(SEATS)
game = {
    "train": bots.TRAIN,
    "heldout": bots.HELDOUT,
    "reference": references.threshold_reference,
    "tests": "head-to-head play: rivals share one hidden market, and each profits only from what the others leave",
}
