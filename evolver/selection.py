"""The selection policy: what a turn builds on, chosen from an archive of the model's players.

The archive is a MAP-Elites grid over two behaviour descriptors read from a player's training metrics: how many
actions it took (bins by powers of 4) and what share of its tries the slot refused (quarters); each cell keeps the
best player that landed in it, so the archive holds players that behave differently, not only the best one.

A turn's parent is the model's best with probability EXPLOIT; otherwise an elite of the archive drawn with weights
1, 1/2, 1/3... by rank (the best first), so a structure that is good but not yet the best gets its turns too. The
inspirations are the best elites of other cells than the parent's, at most MAX_INSPIRATIONS. The choice and its
reason are stored with the try (`Step.inspirations`, `Step.why`), so the lineage says why each parent was taken.
Everything is read from stored training results and drawn from the turn's seed: the same store gives the same
choice in any process.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evolver.comp import IMPROVED, Comp

if TYPE_CHECKING:
    from evolver.plan import Player

EXPLOIT = 0.85  # the chance that a turn builds on the model's best rather than on another elite
MAX_INSPIRATIONS = 3

Cell = tuple[int, int]


@dataclass(frozen=True)
class Choice:
    """A turn's parent (None: the model has no player yet), the players shown with it, and why."""

    parent: Player | None
    inspirations: tuple[int, ...] = ()
    why: str = ""


def descriptor(metrics: Mapping[str, Any]) -> Cell:
    """A player's cell: its actions (0, 1-3, 4-15, 16-63, ...: the power of 4 below them, plus one) and the share of
    its tries refused, in quarters (0-3)."""
    actions, refused = float(metrics.get("actions", 0.0)), float(metrics.get("refused", 0.0))
    busy = 0 if actions < 1 else 1 + int(math.log(actions, 4))
    tried = actions + refused
    return busy, min(3, int(4 * refused / tried)) if tried else 0


@dataclass
class Archive:
    """The best player of each cell, compared by the job's comp."""

    comp: Comp
    cells: dict[Cell, Player] = field(default_factory=dict)

    def add(self, player: Player) -> None:
        """Keeps `player` if its cell is empty or it beats the cell's elite."""
        cell = descriptor(player.metrics)
        elite = self.cells.get(cell)
        if elite is None or self.comp.compare(elite.metrics, player.metrics) == IMPROVED:
            self.cells[cell] = player

    def ranked(self) -> list[Player]:
        """The elites, best first (by score in the comp's direction; by id on a tie)."""
        sign = -1.0 if self.comp.direction == "max" else 1.0
        return sorted(self.cells.values(), key=lambda elite: (sign * elite.score, elite.id))


def choose(archive: Archive | None, best: Player | None, rng: random.Random, explore: bool = True) -> Choice:
    """The parent and inspirations of a turn of a model whose best player is `best` (None: it has none yet); without
    `explore` (a beat: the model's best takes on the leader) the parent is the best."""
    if best is None:
        return Choice(None, (), "no player yet: a first one")
    elites = archive.ranked() if archive is not None else []
    if not explore or len(elites) < 2 or rng.random() < EXPLOIT:
        parent, why = best, f"the model's best ({_cell(best)})"
    else:
        weights = [1 / (rank + 1) for rank in range(len(elites))]
        parent = rng.choices(elites, weights)[0]
        rank = elites.index(parent) + 1
        why = f"elite {rank} of {len(elites)} in the archive ({_cell(parent)})"
    cell = descriptor(parent.metrics)
    others = [elite.id for elite in elites if descriptor(elite.metrics) != cell and elite.id != parent.id]
    return Choice(parent, tuple(others[:MAX_INSPIRATIONS]), why)


def _cell(player: Player) -> str:
    busy, refused = descriptor(player.metrics)
    actions = "no actions" if busy == 0 else f"{4 ** (busy - 1)}-{4**busy - 1} actions"
    return f"{actions}, {refused}/4-{refused + 1}/4 of tries refused"
