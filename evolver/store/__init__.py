"""The lineage store: every job, candidate and evaluation, with its parents, on SQLite or PostgreSQL.

`Store(url)` is the whole interface; migrations/ (Alembic) creates and changes its tables.
"""

from evolver.store.rows import (
    CandidateRow,
    EvaluationRow,
    JobRow,
    MarketRow,
    MatchRow,
    PlanRow,
    ReplyRow,
    Standing,
)
from evolver.store.store import CANDIDATE_OPS, JOB_KINDS, JOB_STATUSES, Store

__all__ = [
    "CANDIDATE_OPS", "JOB_KINDS", "JOB_STATUSES", "CandidateRow", "EvaluationRow", "JobRow", "MarketRow", "MatchRow",
    "PlanRow", "ReplyRow", "Standing", "Store",
]  # fmt: skip
