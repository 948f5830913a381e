"""The HTTP API's bodies: what a request may send and what every response holds (the OpenAPI document's schemas).

Store rows are turned into these at the edge; numbers that are not finite never reach JSON (they become null).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, NonNegativeFloat, NonNegativeInt, PositiveFloat

from evolver.games import JobReference, SetReference
from evolver.store import CandidateRow, JobRow, MarketRow, MatchRow, Standing
from evolver.store.rows import gap

MAX_PAGE = 500
MAX_TURNS = 1000  # generations or rounds one request may ask for
MAX_ATTEMPTS = 20
MAX_SEEDS = 32
MAX_YEARS = 50.0  # what a job's evaluations may simulate (a simulate request has its own cap, a setting)
Number = float | None  # a finite number, or null
# a job's fields that describe its best candidate
OF_THE_BEST = ("best", "best_heldout", "gap", "share", "heldout_share", "best_candidate")
T = TypeVar("T")


class Problem(BaseModel):
    """Every error: what was wrong and how to fix it."""

    error: str = Field(description="What was wrong and how to fix it.")
    details: list[dict[str, Any]] | None = Field(None, description="Each invalid field (validation errors only).")


INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "A parameter or the body is invalid; `details` says which."}
}


def retry_later(description: str) -> dict[str, Any]:
    """A declared error response that carries `Retry-After`: whole seconds to wait before trying again."""
    return {
        "model": Problem,
        "description": f"{description} `Retry-After` says when to try again.",
        "headers": {
            "Retry-After": {
                "description": "Whole seconds to wait before retrying (at least 1).",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }


THROTTLED: dict[int | str, dict[str, Any]] = {
    429: retry_later(
        "Too many requests that compute from this client host without the token: a token bucket per host holds "
        "EVOLVER_API_BURST requests and refills at EVOLVER_API_RATE_PER_MINUTE a minute."
    )
}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _RunIn(_Request):
    """What jobs and tournaments share."""

    scenario: str = Field(description="A built-in scenario with a slot (GET /scenarios).", examples=["ai3_plugins"])
    goal: str | None = Field(None, max_length=4000, description="The goal in words (default: the slot's).")
    comp: str | None = Field(
        None, max_length=200, description="METRIC, max:METRIC, min:METRIC or fn:NAME (default: the slot's)."
    )
    attempts: int = Field(3, ge=1, le=MAX_ATTEMPTS, description="Tries per turn.")
    max_cost: NonNegativeFloat | None = Field(None, description="USD; no new model call past it. Null: no limit.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="The seed of the models' proposals.")
    seeds: list[NonNegativeInt] | None = Field(
        None,
        min_length=1,
        max_length=MAX_SEEDS,
        description="The training seeds: every candidate is evaluated, and every choice made, on these. Null: the "
        "scenario's game's (GET /scenarios).",
    )
    heldout_seeds: list[NonNegativeInt] | None = Field(
        None,
        max_length=MAX_SEEDS,
        description="The held-out seeds: every candidate that runs ok is also scored on these, never chosen by them "
        "nor shown them; none in common with `seeds`. Null: the scenario's game's; []: none.",
    )
    years: PositiveFloat | None = Field(None, le=MAX_YEARS, description="Years each evaluation simulates.")


class JobIn(_RunIn):
    """An evolution job: models take turns to init, improve and beat."""

    models: list[str] = Field(["local:gp"], min_length=1, max_length=16, description="Model ids, provider:model.")
    generations: int = Field(10, ge=1, le=MAX_TURNS, description="Turns per model.")


class TournamentIn(_RunIn):
    """A tournament: every model inits, then each round challenges every other model's champion and improves."""

    models: list[str] = Field(min_length=2, max_length=16, description="At least two model ids, provider:model.")
    rounds: int = Field(3, ge=1, le=MAX_TURNS, description="Rounds of challenges after the inits.")


class SimulateIn(_Request):
    """One run of a scenario, with some variables overridden."""

    variables: dict[str, float] = Field({}, description="Overrides: variable key -> number.", max_length=200)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    years: Annotated[FiniteFloat, Field(gt=0)] | None = Field(
        None,
        description="Default: the scenario's. A request's cost is years x runs (it runs once), capped by the "
        "server's EVOLVER_API_MAX_SIMULATED_YEARS: the `maximum` here.",
    )


class Page(BaseModel, Generic[T]):
    """One page of a list: `items` from `offset`, at most `limit` of them, out of `total`."""

    items: list[T]
    total: int
    offset: int
    limit: int


BEST_HELDOUT = "The best candidate's score on the held-out seeds; null if it has none."
GAP = "Held-out minus training score; null unless both are known."
SHARE = (
    "The training score's share of the optimum profit, (score - idle) / (optimum - idle) with the means over the "
    "training seeds (the job's `reference`); null when the job's game has no optimum, or there is no score."
)
HELDOUT_SHARE = "The held-out score's share of the optimum profit, over the held-out seeds (as `share`)."


def shares(reference: JobReference, score: float | None, heldout_score: float | None) -> dict[str, float | None]:
    """`share` and `heldout_share` of a training and a held-out score, for a response's fields."""
    share, heldout_share = reference.shares(score, heldout_score)
    return {"share": share, "heldout_share": heldout_share}


class SetReferenceOut(BaseModel):
    """What the shares on one seed set are of: the means over its seeds."""

    idle: float = Field(description="The mean score of a player that does nothing.")
    optimum: float = Field(description="The mean optimum: exact, or the best known (a lower bound of the optimum).")
    exact: bool = Field(
        description="Whether every seed's optimum is exact; else the shares are of the best known profit, a lower "
        "bound of the optimum's, and a share of the optimum would be nearer 0."
    )

    @classmethod
    def of(cls, reference: SetReference | None) -> SetReferenceOut | None:
        return None if reference is None else cls(idle=reference.idle, optimum=reference.optimum, exact=reference.exact)


class ReferenceOut(BaseModel):
    """A job's reference: what its scores' shares are of, on its training and its held-out seeds."""

    train: SetReferenceOut
    heldout: SetReferenceOut | None = Field(description="Null when the job holds no seed out.")

    @classmethod
    def of(cls, reference: JobReference) -> ReferenceOut | None:
        """None for a job without a reference (its game has no optimum, or its comp is not the slot's)."""
        train = SetReferenceOut.of(reference.train)
        return None if train is None else cls(train=train, heldout=SetReferenceOut.of(reference.heldout))


class ModelStanding(BaseModel):
    """A model's standing in a job: its best score (and that candidate's held-out score), calls made and cost."""

    model: str
    best: Number
    best_heldout: Number = Field(description=BEST_HELDOUT)
    gap: Number = Field(description=GAP)
    share: Number = Field(None, description=f"Of `best`. {SHARE}")
    heldout_share: Number = Field(None, description=f"Of `best_heldout`. {HELDOUT_SHARE}")
    best_candidate: int | None
    calls: int = Field(description="Calls made (replies replayed from another job are not calls).")
    cost: float = Field(description="USD paid.")
    retired: str | None = Field(None, description="Why the model takes no more turns (it failed for good).")

    @classmethod
    def of(cls, standing: Standing, reference: JobReference) -> ModelStanding:
        return cls(**asdict(standing), gap=standing.gap, **shares(reference, standing.best, standing.best_heldout))


class JobOut(BaseModel):
    """A job or tournament as listed."""

    id: int
    kind: Literal["evolve", "tournament"]
    scenario: str
    goal: str
    comp: str
    direction: str
    models: list[str]
    budget: dict[str, Any]
    seed: int
    status: str
    error: str | None
    created_at: datetime
    updated_at: datetime
    best: Number = Field(description="The best score so far (training seeds), null until a candidate evaluated ok.")
    best_heldout: Number = Field(description=BEST_HELDOUT)
    gap: Number = Field(description=GAP)
    share: Number = Field(None, description=f"Of `best`. {SHARE}")
    heldout_share: Number = Field(None, description=f"Of `best_heldout`. {HELDOUT_SHARE}")
    best_candidate: int | None = Field(description="The candidate with the best score (the earliest of a tie).")
    reference: ReferenceOut | None = Field(
        None, description="What the shares are of; null when the job's game has no optimum (no share is shown)."
    )

    @classmethod
    def of(cls, job: JobRow, top: tuple[int, float, float | None] | None) -> JobOut:
        """The job's row with its best candidate's id, score and held-out score (`Store.top`) and their shares."""
        fields = {name: getattr(job, name) for name in JobOut.model_fields if name not in (*OF_THE_BEST, "reference")}
        best_candidate, best, heldout = top or (None, None, None)
        reference = JobReference.read(job.reference)
        return cls(
            **fields | {"models": list(job.models)}, best=best, best_heldout=heldout, gap=gap(best, heldout),
            best_candidate=best_candidate, reference=ReferenceOut.of(reference), **shares(reference, best, heldout),
        )  # fmt: skip


class JobDetail(JobOut):
    """A job with where it stands: its phase, how many candidates, and every model's standing."""

    phase: int = Field(description="1-based; equals `phases` when the run is over.")
    phases: int
    candidates: int
    ok: int = Field(description="Candidates that evaluated ok.")
    standings: list[ModelStanding]


class CandidateOut(BaseModel):
    """A candidate as a node of the lineage: who wrote it, from what, and how it scored (or why it failed)."""

    id: int
    job_id: int
    model: str
    op: str
    generation: int = Field(description="1-based, as the command line counts: the phase the try was made in.")
    parent_id: int | None
    target_id: int | None = Field(description="beat: the other model's candidate it had to beat.")
    status: str
    score: Number = Field(description="On the training seeds: what every choice is made on.")
    heldout_score: Number = Field(description="On the held-out seeds: reported, never chosen on nor shown to a model.")
    heldout_status: str | None = Field(
        description="The held-out evaluation's status; null when none was made (no held-out seeds, or it failed on "
        "the training seeds)."
    )
    gap: Number = Field(description=GAP)
    share: Number = Field(None, description=f"Of `score`. {SHARE}")
    heldout_share: Number = Field(None, description=f"Of `heldout_score`. {HELDOUT_SHARE}")
    improved: bool | None
    error: str | None
    error_line: int | None
    tokens_in: int
    tokens_out: int
    cost: float
    latency_ms: float
    created_at: datetime

    @classmethod
    def of(cls, row: CandidateRow, reference: JobReference) -> CandidateOut:
        """The row, with its scores' shares given its job's reference."""
        own = ("model", "generation", "share", "heldout_share")
        fields = {name: getattr(row, name) for name in cls.model_fields if name not in own}
        return cls(
            **fields | {"model": row.model_id, "generation": row.generation + 1},
            **shares(reference, row.score, row.heldout_score),
        )


class EvaluationOut(BaseModel):
    """One evaluation of a candidate: the seeds and years that reproduce its score (or held-out score)."""

    seeds: list[int]
    heldout: bool = Field(description="On the job's held-out seeds (else its training seeds).")
    years: float | None
    status: str
    error: str | None = Field(description="Why it did not run ok.")
    error_line: int | None
    score: Number
    metrics: dict[str, Number]
    per_seed: list[dict[str, Any]]
    timings: dict[str, Any]


class CandidateDetail(CandidateOut):
    """A candidate in full: its code, metrics, parents, the diff against its parent and its evaluations."""

    code: str
    code_hash: str
    metrics: dict[str, Number]
    parent: CandidateOut | None
    target: CandidateOut | None
    diff: str | None = Field(description="Unified diff of the code against the parent's; null without a parent.")
    evaluations: list[EvaluationOut]
    prompt: list[dict[str, str]] | None = Field(description="The chat messages sent to the model.")
    reply: str | None
    choice: dict[str, Any] | None = Field(
        description="What the try was given: `parent` and `target` (candidate ids or null), `inspirations` (ids of "
        "other players shown for ideas), `why` (the selection's reason), and `edit`: how the reply gave its code "
        "(`diff`: SEARCH/REPLACE blocks applied to the code shown, `rewrite`: whole, null: no reply). Null for a "
        "candidate stored before it was recorded."
    )


class LeaderRow(BaseModel):
    """A model's line in a tournament's leaderboard (Elo, start 1500, K 32)."""

    model: str
    rating: float
    bt: float | None = Field(
        None, description="An arena's Bradley-Terry rating over the round markets (openskill's ordinal); else null."
    )
    wins: int
    losses: int
    matches: int
    best: Number
    best_heldout: Number = Field(description=BEST_HELDOUT)
    gap: Number = Field(description=GAP)
    share: Number = Field(None, description=f"Of `best`. {SHARE}")
    heldout_share: Number = Field(None, description=f"Of `best_heldout`. {HELDOUT_SHARE}")
    calls: int
    cost: float
    retired: str | None = Field(None, description="Why the model left the tournament (it failed for good).")


class MatchOut(BaseModel):
    """One challenge: the challenger's best try against the defender's champion on the same seeds."""

    round: int
    challenger: str
    defender: str
    challenger_candidate_id: int | None
    defender_candidate_id: int
    seeds: list[int]
    challenger_score: Number
    defender_score: float
    won: bool

    @classmethod
    def of(cls, row: MatchRow) -> MatchOut:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class MarketOut(BaseModel):
    """An arena tournament's round market: the champions trading in the same runs, seat by seat."""

    round: int
    models: list[str]
    candidate_ids: list[int]
    seeds: list[int]
    statuses: list[str]
    scores: list[Number]
    per_seed: list[list[Number]]

    @classmethod
    def of(cls, row: MarketRow) -> MarketOut:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class TournamentDetail(JobDetail):
    """A tournament with its leaderboard, its matches in the order they were decided, and (in an arena) its round
    markets."""

    leaderboard: list[LeaderRow]
    matches: list[MatchOut]
    markets: list[MarketOut] = []


class ScenarioOut(BaseModel):
    """A built-in scenario: what it models, its variables' defaults, and its slot if players can be evolved."""

    name: str
    title: str
    description: str
    years: float
    variables: dict[str, dict[str, Any]] = Field(
        description="Variable key -> its `name` and default `value` (null when it is computed)."
    )
    goal: str | None = Field(description="The slot's goal; null when the scenario has no slot.")
    comp: str | None
    graphs: list[dict[str, Any]] = Field(description="AI3's dashboard graphs: name and lines (label, key).")


class SimulationOut(BaseModel):
    """One run: the variables as computed, the final state and the daily stats (one row a day)."""

    scenario: str
    seed: int
    years: float
    variables: dict[str, Any]
    result: dict[str, Any]
    stats: list[dict[str, Any]]
