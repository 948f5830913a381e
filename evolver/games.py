"""The games: scenarios with a slot, described for `evolver games`, and their reference on given seeds.

A game's reference on a seed has three numbers: what a player that does nothing scores (`idle`), the optimum
(exact, or a best-found plan: a lower bound) and what the game's hand-written reference player scores. A score's
*share* of the optimum is the profit it made over idle as a part of the optimum's: (score - idle) / (optimum -
idle). Over several seeds the shares are of the summed profits, so a seed with a small optimum weighs little.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from simcore import Scenario, builtin_names, load_scenario, play
from simcore.game import Optimum
from simcore.optimum import idle_score, optimum_of

TINY = 1e-9  # an optimum's profit at most this (relative to the idle score) is none: its share would be noise


@dataclass(frozen=True)
class GameInfo:
    """One game as `evolver games` lists it."""

    name: str
    description: str
    kinds: tuple[str, ...]  # deterministic or randomised; hidden; arena
    seats: int
    train: tuple[int, ...]
    heldout: tuple[int, ...]
    optimum: str | None  # "exact", "lower bound" or None
    reference_player: bool
    tests: str


@dataclass(frozen=True)
class SeedReference:
    """A game's reference on one seed: the idle score, the optimum, and the reference player's score."""

    seed: int
    heldout: bool
    idle: float
    optimum: Optimum | None
    reference: float | None

    @property
    def share(self) -> float | None:
        """The reference player's share of the optimum profit on this seed."""
        return None if self.reference is None else share([self.reference], [self])


def share(scores: Sequence[float], references: Sequence[SeedReference]) -> float | None:
    """The share of the optimum profit that `scores` (one per seed of `references`) made, over those seeds; None
    without an optimum, or when the optimum makes no profit over idle (none beyond float noise)."""
    if not references or any(ref.optimum is None for ref in references):
        return None
    profit = sum(ref.optimum.value - ref.idle for ref in references if ref.optimum is not None)
    made = sum(score - ref.idle for score, ref in zip(scores, references, strict=True))
    scale = max(1.0, *(abs(ref.idle) for ref in references))
    return None if abs(profit) <= TINY * scale else made / profit


def game_info(scenario: Scenario) -> GameInfo:
    """What `evolver games` shows of a scenario with a slot (its optimum's kind is read from its first seed)."""
    game, slot = scenario.game, scenario.slot
    assert game is not None and slot is not None, f"{scenario.name} has no slot"
    seats = getattr(slot, "seats", 1)
    kinds = ("randomised" if game.random else "deterministic",)
    kinds += ("hidden",) * bool(slot.hidden) + ("arena",) * (seats > 1)
    found = optimum_of(scenario, game.train[0]) if game.optimum is not None else None
    kind = None if found is None else "exact" if found.exact else "lower bound"
    return GameInfo(
        scenario.name, scenario.description, kinds, seats, tuple(game.train), tuple(game.heldout), kind,
        game.reference is not None, game.tests,
    )  # fmt: skip


def builtin_games() -> list[GameInfo]:
    """The built-in scenarios that have a slot, as games."""
    loaded = (load_scenario(name) for name in builtin_names())
    return [game_info(scenario) for scenario in loaded if scenario.slot is not None]


def references(
    scenario: Scenario, train: Sequence[int], heldout: Sequence[int] = (), years: float | None = None
) -> list[SeedReference]:
    """The game's reference on each seed, training seeds first."""
    if years is not None:
        scenario = replace(scenario, years=years)
    game = scenario.game
    player = game.reference if game is not None else None
    refs = []
    for seed in (*train, *heldout):
        score = None if player is None else play(scenario, player, seed=seed).score
        refs.append(SeedReference(seed, seed in heldout, idle_score(scenario, seed), optimum_of(scenario, seed), score))
    return refs


def job_reference(refs: Sequence[SeedReference]) -> dict[str, Any] | None:
    """What a job stores of its seeds' references, to show shares without recomputing: per seed set, the idle
    and optimum scores by seed and whether every optimum is exact. None when the game has no optimum."""
    if not refs or any(ref.optimum is None for ref in refs):
        return None
    sets = {"train": [ref for ref in refs if not ref.heldout], "heldout": [ref for ref in refs if ref.heldout]}
    return {
        name: {
            "idle": [ref.idle for ref in chosen],
            "optimum": [ref.optimum.value for ref in chosen if ref.optimum is not None],
            "exact": all(ref.optimum.exact for ref in chosen if ref.optimum is not None),
        }
        for name, chosen in sets.items()
    }


def stored_share(score: float | None, stored: Mapping[str, Any] | None, which: str = "train") -> float | None:
    """A mean score's share of the optimum profit, from a job's stored reference (`job_reference`) for the seed
    set `which` ("train" or "heldout"); None when there is no score or no reference."""
    if score is None or not stored or not stored.get(which, {}).get("optimum"):
        return None
    chosen = stored[which]
    idle = sum(chosen["idle"]) / len(chosen["idle"])
    optimum = sum(chosen["optimum"]) / len(chosen["optimum"])
    return None if abs(optimum - idle) <= TINY * max(1.0, abs(idle)) else (score - idle) / (optimum - idle)
