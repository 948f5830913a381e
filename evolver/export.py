"""Export a candidate as a standalone player module: a header saying where it came from, then its code.

The code is written exactly as stored, so `evolver evaluate SCENARIO player.py` with the job's seeds
reproduces the stored score.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from evolver.errors import StoreError
from evolver.store import Store


def export_text(store: Store, candidate_id: int) -> str:
    """The module text for `candidate_id`; StoreError if there is no such candidate or it has no code."""
    chain = store.ancestry(candidate_id)
    if not chain:
        raise StoreError(f"no candidate {candidate_id}; `evolver lineage JOB` lists a job's candidates")
    candidate = chain[-1]
    if not candidate.code:
        raise StoreError(f"candidate {candidate_id} has no code ({candidate.status}: {candidate.error})")
    job = store.job(candidate.job_id)
    assert job is not None  # a candidate always belongs to a job
    ops = " -> ".join(f"{c.op} #{c.id} ({c.model_id})" for c in chain)
    score = "none (it failed)" if candidate.score is None else f"{candidate.score!r}"
    header = (
        f'"""Evolved player for the scenario {job.scenario!r}.\n\n'
        f"Model: {candidate.model_id}\n"
        f"Lineage: {ops}\n"
        f"Score: {score} ({job.comp}) on seeds {job.budget.get('seeds', [0])}, years {job.budget.get('years')}\n"
        f"Status: {candidate.status}\n"
        f"Code sha256: {hashlib.sha256(candidate.code.encode()).hexdigest()}\n"
        f"Exported: {datetime.now(UTC).date().isoformat()} from job {job.id}, candidate {candidate.id}\n"
        f'"""\n\n'
    )
    return header + candidate.code.rstrip("\n") + "\n"


def best_candidate(store: Store, job_id: int) -> int:
    """The id of a job's best candidate; StoreError when the job has none that evaluated ok."""
    job = store.job(job_id)
    if job is None:
        raise StoreError(f"no job {job_id}; `evolver jobs` lists them")
    best = store.best(job_id, job.direction)
    if best is None:
        raise StoreError(f"job {job_id} has no candidate that evaluated ok")
    return best.id
