"""What the store's queries return: plain frozen dataclasses, detached from any database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def gap(training: float | None, heldout: float | None) -> float | None:
    """Held-out minus training score (how a score carries to seeds nothing was chosen on); None unless both are
    known."""
    return None if training is None or heldout is None else heldout - training


@dataclass(frozen=True)
class JobRow:
    """A job as stored; `budget` holds `attempts`, `generations` and `max_cost`."""

    id: int
    kind: str  # "evolve" | "tournament"
    scenario: str
    goal: str
    comp: str
    direction: str  # "max" | "min"
    models: tuple[str, ...]  # model ids, in the order the job was given them
    budget: dict[str, Any]
    seed: int
    status: str  # one of JOB_STATUSES
    error: str | None
    created_at: datetime  # UTC
    updated_at: datetime  # UTC
    scenario_source: str | None = None  # the scenario's text as submitted (None: a job stored before 0003)
    scenario_hash: str | None = None  # sha256 of it
    phase: int | None = None  # 0-based, the first unfinished phase when the run last moved; None: not started
    replay: int | None = None  # the job whose replies it may reuse (`--replay`)
    reference: dict[str, Any] | None = None  # its seeds' idle and optimum scores (`evolver.games.job_reference`)
    scenario_components: dict[str, str] | None = None  # its scenario's components' refs (None: stored before 0009)


@dataclass(frozen=True)
class CandidateRow:
    """A candidate as stored: its code, where it came from, how it scored and what it cost."""

    id: int
    key: str  # the caller's idempotency key
    job_id: int
    model_id: str
    op: str  # one of CANDIDATE_OPS
    generation: int
    parent_id: int | None
    target_id: int | None  # beat: the candidate it had to beat
    code: str
    code_hash: str  # sha256 hex of `code`
    status: str  # the evaluation status ("ok", "runtime_error", ...) or "no_code"
    score: float | None
    metrics: dict[str, Any]
    error: str | None
    error_line: int | None
    improved: bool | None  # did it beat its parent (or target); None when there was nothing to compare
    prompt: list[dict[str, str]] | None  # the chat messages sent
    reply: str | None
    tokens_in: int
    tokens_out: int
    cost: float  # USD
    latency_ms: float
    created_at: datetime  # UTC
    replayed_from: int | None = None  # the job whose reply it reused: no call was made, nothing was paid
    heldout_score: float | None = None  # on the job's held-out seeds: reported, never selected on
    heldout_status: str | None = None  # that evaluation's status; None: none was made (no seeds, or failed training)
    versus_score: float | None = None  # an arena's beat: its score playing against its target, in the same runs
    versus_target_score: float | None = None  # and the target's
    # {"parent", "target", "inspirations", "why", "edit"}: what the try was given and how its reply edited the code
    # ("diff": SEARCH/REPLACE blocks, "rewrite": the whole code, None: no reply); None: stored before 0007
    choice: dict[str, Any] | None = None
    skeleton: str | None = None  # its code with its tunable constants blanked (evolver/tuning.py); None: no program

    @property
    def gap(self) -> float | None:
        """Held-out score minus training score, when both are known."""
        return gap(self.score, self.heldout_score)


@dataclass(frozen=True)
class PlanRow:
    """What planning reads of a candidate: no code, prompt or reply text, and nothing of its held-out seeds."""

    id: int
    key: str
    model_id: str
    generation: int
    status: str
    score: float | None
    metrics: dict[str, Any]
    improved: bool | None
    has_code: bool  # a failed try with code is repaired by the next
    cost: float
    versus_score: float | None = None  # an arena's beat: its score playing against the target
    versus_target_score: float | None = None  # and the target's, in the same runs


@dataclass(frozen=True)
class Standing:
    """One model's place in a job: its best score and candidate, its calls (replays not counted) and cost."""

    model: str
    best: float | None
    best_candidate: int | None
    calls: int
    cost: float  # USD actually paid
    retired: str | None = None  # why the model takes no more turns, when it was retired
    best_heldout: float | None = None  # the best candidate's held-out score

    @property
    def gap(self) -> float | None:
        """The best candidate's held-out score minus its training score, when both are known."""
        return gap(self.best, self.best_heldout)


@dataclass(frozen=True)
class EvaluationRow:
    """One evaluation of a candidate on a list of seeds (in the order given)."""

    id: int
    candidate_id: int
    seeds: list[int]
    seeds_key: str
    years: float | None
    status: str
    score: float | None
    metrics: dict[str, Any]
    per_seed: list[Any]
    timings: dict[str, Any]
    created_at: datetime  # UTC
    heldout: bool = False  # on the job's held-out seeds
    error: str | None = None  # why it did not run ok
    error_line: int | None = None
    feedback: dict[str, Any] | None = None  # training only: what the runs showed (`simcore.feedback`), for prompts


@dataclass(frozen=True)
class MatchRow:
    """A tournament match: did the challenger beat the defender's champion (on the same seeds) within its tries."""

    id: int
    job_id: int
    round: int  # 1-based; round 0 is every model's init
    challenger: str  # model ids
    defender: str
    challenger_candidate_id: int | None  # the challenger's best ok try, None when none ran ok
    defender_candidate_id: int  # the defender's champion at the start of the round
    seeds: list[int]
    challenger_score: float | None
    defender_score: float
    won: bool
    created_at: datetime  # UTC


@dataclass(frozen=True)
class ReplyRow:
    """A model's cached answer to one step of a job (its prompt and seed)."""

    id: int
    model_id: str
    prompt_hash: str
    seed: int
    text: str
    op: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: float
    requests: int
    created_at: datetime  # UTC
    job_id: int | None = None
    key: str | None = None  # the step's key
    replayed_from: int | None = None  # the job it was copied from: not paid again


@dataclass(frozen=True)
class MarketRow:
    """An arena tournament's round market: the champions' scores in the same runs, seat by seat."""

    id: int
    key: str
    job_id: int
    round: int
    models: list[str]
    candidate_ids: list[int]
    seeds: list[int]
    statuses: list[str]
    scores: list[float | None]
    per_seed: list[list[float | None]]
    created_at: datetime  # UTC
