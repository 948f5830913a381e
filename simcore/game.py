"""A game: a scenario's slot as something to evolve for, with its seeds and, where one is known, its reference.

A scenario with a slot may declare `game` (a `Game` or a dict of its fields):

- `train` and `heldout`: the seeds a job selects on by default, and those it only reports (never shown to a
  model, never used to choose anything);
- `random`: whether the seed changes the market (random variables, or background players drawing from
  `p["rng"]`); a deterministic game plays the same on every seed;
- `optimum(scenario, seed)`: the best score the slot's comp can reach on that seed, as an `Optimum` (exact, or
  a best-found plan labelled as a lower bound);
- `reference`: a strong hand-written player fn `fn(i, v, r, s, p)`, as a yardstick;
- `tests`: one line on what the game tests.

A scenario with a slot and no declaration is a game with defaults: trained on seed 0, no held-out seeds, no
reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

from simcore.checks import listed
from simcore.errors import ScenarioError

MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Optimum:
    """The best score on one seed: `exact` when proven (a solver), else the best found (a lower bound); `plan`
    is how it is reached, in the solver's own terms (for a pool: its level after each of the player's turns)."""

    value: float
    exact: bool
    method: str
    plan: tuple[float, ...] = ()


@dataclass(frozen=True)
class Game:
    """What a scenario's slot is played for: default seeds, randomness, the optimum and the reference player."""

    train: Sequence[int] = (0,)
    heldout: Sequence[int] = ()
    random: bool = False
    optimum: Callable[[Any, int], Optimum] | None = None
    reference: Callable[..., Any] | None = None
    tests: str = ""

    def __post_init__(self) -> None:
        train, heldout = _seeds(self.train, "train"), _seeds(self.heldout, "heldout")
        _require(bool(train), "train must name at least one seed")
        shared = sorted(set(train) & set(heldout))
        _require(not shared, f"seeds {shared} are both training and held-out; a held-out seed is never trained on")
        _require(isinstance(self.random, bool), f"random must be True or False, got {self.random!r}")
        _require(self.optimum is None or callable(self.optimum), "optimum must be a function (scenario, seed)")
        _require(self.reference is None or callable(self.reference), "reference must be a player fn(i, v, r, s, p)")
        _require(isinstance(self.tests, str), "tests must be a text")
        object.__setattr__(self, "train", train)
        object.__setattr__(self, "heldout", heldout)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ScenarioError(f"game: {message}")


def _seeds(spec: Any, what: str) -> tuple[int, ...]:
    ok = isinstance(spec, (list, tuple)) and all(
        isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED for seed in spec
    )
    _require(ok, f"{what} must be a list of seeds (ints from 0 to 2**63-1), got {spec!r}")
    _require(len(set(spec)) == len(spec), f"{what} names a seed twice: {list(spec)}")
    return tuple(spec)


def game_for(spec: Any, has_slot: bool) -> Game | None:
    """A scenario module's `game` (a Game, a dict of its fields, or None) for a scenario with a slot."""
    if spec is None:
        return Game() if has_slot else None
    _require(has_slot, "a game needs a slot to play in; declare `slot` too")
    if isinstance(spec, Game):
        return spec
    _require(isinstance(spec, Mapping), f"expected a Game or a dict of its fields, got {spec!r}")
    names = [f.name for f in fields(Game) if f.default is not MISSING or f.default_factory is not MISSING]
    unknown = sorted(set(spec) - set(names))
    _require(not unknown, f"unknown fields {unknown} (fields: {listed(names)})")
    return Game(**spec)
