"""The games: scenarios with a slot, described for `evolver games`, and their reference on given seeds.

A game's reference on a seed has three numbers: what a player that does nothing scores (`idle`), the optimum
(exact, or a best-found plan: a lower bound) and what the game's hand-written reference player scores. A score's
*share* of the optimum is the profit it made over idle as a part of the optimum's: (score - idle) / (optimum -
idle). Over several seeds the shares are of the summed profits, so a seed with a small optimum weighs little.

A job stores its seeds' references when it is submitted (`job_reference_for`), and every place that shows one of
its scores shows that score's share beside it (`JobReference`): of the optimum when every seed's is exact, else of
the best known (a lower bound of the optimum, so a share of the true optimum is nearer 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from simcore import Scenario, builtin_names, load_scenario, play
from simcore.game import Optimum
from simcore.optimum import idle_score, optimum_of

if TYPE_CHECKING:
    from evolver.comp import Comp

TINY = 1e-9  # an optimum's profit at most this (relative to the idle score) is none: its share would be noise
REFERENCE_SEED_YEARS = 20.0
"""The most simulated years, over all of a job's seeds, whose optima are solved when it is submitted (at most ~10 s
for the built-in games; a solver's time grows with the days, up to quadratically): a longer job gets no reference."""


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
    return _fraction(made, profit, [ref.idle for ref in references])


def _fraction(made: float, profit: float, idle: Sequence[float]) -> float | None:
    """made / profit, or None when the profit is within float noise of none (relative to the idle scores)."""
    return None if abs(profit) <= TINY * max(1.0, *map(abs, idle)) else made / profit


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
    scenario: Scenario,
    train: Sequence[int],
    heldout: Sequence[int] = (),
    years: float | None = None,
    *,
    player: bool = True,
) -> list[SeedReference]:
    """The game's reference on each seed, training seeds first; without `player`, the reference player is not run
    (its score is None): all a share needs is the idle score and the optimum, both cached per process."""
    if years is not None:
        scenario = replace(scenario, years=years)
    game = scenario.game
    fn = game.reference if game is not None and player else None
    refs = []
    for seed in (*train, *heldout):
        score = None if fn is None else play(scenario, fn, seed=seed).score
        refs.append(SeedReference(seed, seed in heldout, idle_score(scenario, seed), optimum_of(scenario, seed), score))
    return refs


def job_reference(refs: Sequence[SeedReference]) -> dict[str, Any] | None:
    """What a job stores of its seeds' references, to show shares without recomputing: for each seed set with seeds
    ("train", "heldout"), the seeds, the idle and optimum scores by seed and whether every optimum is exact. None
    when the game has no optimum."""
    if not refs or any(ref.optimum is None for ref in refs):
        return None
    sets = {"train": [ref for ref in refs if not ref.heldout], "heldout": [ref for ref in refs if ref.heldout]}
    return {
        name: {
            "seeds": [ref.seed for ref in chosen],
            "idle": [ref.idle for ref in chosen],
            "optimum": [ref.optimum.value for ref in chosen if ref.optimum is not None],
            "exact": all(ref.optimum.exact for ref in chosen if ref.optimum is not None),
        }
        for name, chosen in sets.items()
        if chosen
    }


def seed_years(scenario: Scenario, train: Sequence[int], heldout: Sequence[int], years: float | None) -> float:
    """The years the seeds simulate in all (seeds x years): what solving their optima costs grows with it."""
    return (len(train) + len(heldout)) * (scenario.years if years is None else years)


def job_reference_for(
    scenario: Scenario, comp: Comp, train: Sequence[int], heldout: Sequence[int], years: float | None
) -> dict[str, Any] | None:
    """What a job on these seeds stores (`job_reference`). None, with nothing computed, when its game declares no
    optimum, when the job scores another metric, or in another direction, than the slot's comp (the optimum's), or
    when its seeds simulate more than REFERENCE_SEED_YEARS years in all."""
    game, slot = scenario.game, scenario.slot
    scored = slot is not None and (comp.metric, comp.direction) == (slot.comp, slot.direction)
    if (
        game is None
        or game.optimum is None
        or not scored
        or seed_years(scenario, train, heldout, years) > REFERENCE_SEED_YEARS
    ):
        return None
    return job_reference(references(scenario, train, heldout, years, player=False))


@dataclass(frozen=True)
class SetReference:
    """A seed set's reference as a job stored it: the mean idle and optimum scores over its seeds, and whether every
    optimum is exact (else it is the best known: a lower bound, so a share of the true optimum is nearer 0)."""

    idle: float
    optimum: float
    exact: bool

    @classmethod
    def read(cls, stored: Mapping[str, Any]) -> SetReference:
        """One seed set of a job's stored reference (`job_reference`)."""
        idle, optimum = stored["idle"], stored["optimum"]
        return cls(sum(idle) / len(idle), sum(optimum) / len(optimum), bool(stored["exact"]))

    def share(self, score: float | None) -> float | None:
        """A mean score's share of the optimum profit, (score - idle) / (optimum - idle); None without a score, or
        when the optimum makes no profit over idle."""
        return None if score is None else _fraction(score - self.idle, self.optimum - self.idle, [self.idle])


@dataclass(frozen=True)
class JobReference:
    """What a job's shares are of, read from its stored reference: its training seeds' and its held-out seeds'
    (None: the job has no reference, or holds no seed out)."""

    train: SetReference | None = None
    heldout: SetReference | None = None

    @classmethod
    def read(cls, stored: Mapping[str, Any] | None) -> JobReference:
        """A job's stored `reference` (`job_reference`); empty for a job without one (its game has no optimum, or
        it was stored before references were)."""
        sets = {name: SetReference.read(stored[name]) for name in ("train", "heldout") if stored and stored.get(name)}
        return cls(**sets)

    @property
    def exact(self) -> bool:
        """Whether every optimum is exact (else some share is of the best known: a lower bound)."""
        return all(ref.exact for ref in (self.train, self.heldout) if ref is not None)

    def shares(self, score: float | None, heldout_score: float | None) -> tuple[float | None, float | None]:
        """The shares of a training and a held-out score (None where there is no score or no reference)."""
        train, heldout = self.train, self.heldout
        return train.share(score) if train else None, heldout.share(heldout_score) if heldout else None
