"""A job or a tournament as submitted: what to evolve, between which models, within what budget.

`JobSpec` is validated before anything runs and stored with the job, so any process (a worker, `evolver
resume`) can pick the run up from the store alone. evolver/plan.py says what a run does; evolver/engine.py
does it. A job has two sets of seeds: the training `seeds` every choice is made on, and the `heldout` seeds its
candidates are only scored on; left out (None), they are the scenario's game's (`Engine.submit` fills them in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from evolver.store import JobRow

BUDGET = ("generations", "rounds", "attempts", "max_cost", "seeds", "heldout", "years", "arena")
"""The spec's fields kept in the job row's `budget`; the others have columns of their own."""


class JobSpec(BaseModel):
    """A job (`evolve`: generations of turns) or a tournament (`tournament`: rounds of matches)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["evolve", "tournament"] = "evolve"
    scenario: str
    models: tuple[str, ...] = Field(("local:gp",), min_length=1)
    goal: str | None = None  # None: the slot's goal
    comp: str | None = None  # None: the slot's comp
    generations: PositiveInt = 10  # a job's turns per model
    rounds: PositiveInt = 3  # a tournament's rounds
    attempts: PositiveInt = 3
    max_cost: NonNegativeFloat | None = None  # USD; None: no limit
    seed: NonNegativeInt = 0
    seeds: tuple[NonNegativeInt, ...] | None = Field(None, min_length=1)  # training: scored and selected on
    heldout: tuple[NonNegativeInt, ...] | None = None  # held-out: scored on, never selected on nor shown to a model
    years: PositiveFloat | None = None
    replay: PositiveInt | None = None  # a job whose replies to the same prompts are reused (not paid again)
    arena: bool | None = None  # whether the scenario's slot has several seats (set at submit, from the scenario)

    @model_validator(mode="after")
    def _models_are_distinct(self) -> JobSpec:
        repeated = sorted({model for model in self.models if self.models.count(model) > 1})
        if repeated:
            raise ValueError(f"each model is given once; repeated: {', '.join(repeated)}")
        if self.kind == "tournament" and len(self.models) < 2:
            raise ValueError("a tournament needs at least two models")
        shared = sorted(set(self.seeds or ()) & set(self.heldout or ()))
        if shared:
            raise ValueError(
                f"seeds {', '.join(map(str, shared))} are both training and held-out seeds: a held-out seed is never "
                "trained on (give other training seeds, other held-out seeds, or none held out)"
            )
        return self

    def resolved(self, train: Sequence[int], heldout: Sequence[int], arena: bool = False) -> JobSpec:
        """The spec with the seeds it leaves to its scenario's game (None) set to the game's `train` and `heldout`,
        and whether the game is an arena, checked again: what a job stores, so a stored spec never depends on the
        scenario's declaration."""
        seeds = self.seeds or tuple(train)
        held = tuple(heldout) if self.heldout is None else self.heldout
        return JobSpec.model_validate({**self.model_dump(), "seeds": seeds, "heldout": held, "arena": arena})

    @property
    def length(self) -> int:
        """Generations of a job, rounds of a tournament."""
        return self.generations if self.kind == "evolve" else self.rounds

    @property
    def phases(self) -> int:
        """A job's generations; a tournament's init phase and two phases per round (three in an arena: the round
        ends with the champions' market)."""
        return self.generations if self.kind == "evolve" else 1 + (3 if self.arena else 2) * self.rounds

    @classmethod
    def from_row(cls, row: JobRow) -> JobSpec:
        """The spec of a stored job, with its goal, comp and seeds as they were resolved when it was stored (a job
        stored before held-out seeds existed has none)."""
        budget = {"seeds": (0,), "heldout": ()} | {name: row.budget[name] for name in BUDGET if name in row.budget}
        return cls(
            kind=row.kind, scenario=row.scenario, models=row.models, goal=row.goal, comp=row.comp, seed=row.seed,
            replay=row.replay, **budget,
        )  # fmt: skip
