"""Export a candidate as a standalone player module: a header saying where it came from, then its code.

The code is written exactly as stored, so `evolver evaluate SCENARIO player.py` with the job's training (or
held-out) seeds reproduces the stored score (or held-out score). Only a candidate that evaluated ok is exported:
a failed one's code may not even parse, and a file that looks like a player but is not one would be a silent
failure.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from evolver.errors import EvolverError
from evolver.games import JobReference, SetReference
from evolver.job import JobSpec
from evolver.report import share_text
from evolver.store import CandidateRow, Store


def export_text(store: Store, candidate_id: int) -> str:
    """The module text for `candidate_id`; EvolverError if there is no such candidate or it did not evaluate ok."""
    chain = store.ancestry(candidate_id)
    if not chain:
        raise EvolverError(f"no candidate {candidate_id}; `evolver lineage JOB` lists a job's candidates")
    candidate = chain[-1]
    refusal = not_exported(candidate)
    if refusal:
        raise EvolverError(refusal)
    job = store.job(candidate.job_id)
    assert job is not None  # a candidate always belongs to a job
    ops = " -> ".join(f"{c.op} #{c.id} ({c.model_id})" for c in chain)
    spec = JobSpec.from_row(job)
    years = spec.years or "the scenario's default"
    reference = JobReference.read(job.reference)
    header = (
        f'"""Evolved player for the scenario {job.scenario!r}.\n\n'
        f"Model: {candidate.model_id}\n"
        f"Lineage: {ops}\n"
        f"Score: {candidate.score!r} ({job.comp}) on training seeds {list(spec.seeds or ())}, years: {years}\n"
        f"{_share_line('Share', candidate.score, reference.train)}"
        f"{_heldout_line(candidate, list(spec.heldout or ()))}\n"
        f"{_share_line('Held-out share', candidate.heldout_score, reference.heldout)}"
        f"Code sha256: {hashlib.sha256(candidate.code.encode()).hexdigest()}\n"
        f"Exported: {datetime.now(UTC).date().isoformat()} from job {job.id}, candidate {candidate.id}\n"
        f'"""\n\n'
    )
    return header + candidate.code.rstrip("\n") + "\n"


def _heldout_line(candidate: CandidateRow, seeds: list[int]) -> str:
    """The held-out score and its gap to the training score, or why there is none."""
    if not seeds:
        return "Held-out score: none (the job held out no seeds)"
    if candidate.heldout_score is None:
        return f"Held-out score: none ({candidate.heldout_status or 'not evaluated'} on held-out seeds {seeds})"
    return f"Held-out score: {candidate.heldout_score!r} on held-out seeds {seeds}, gap {candidate.gap!r}"


def _share_line(label: str, score: float | None, reference: SetReference | None) -> str:
    """`Share: 63.2 % of the optimum profit (idle 50, optimum 64.7209)` and a newline; empty without a share."""
    text = share_text(score, reference)
    return f"{label}: {text}\n" if text else ""


def not_exported(candidate: CandidateRow) -> str | None:
    """Why the candidate is not exported (it did not evaluate ok), or None."""
    if candidate.status == "ok":
        return None
    line = f" at line {candidate.error_line}" if candidate.error_line else ""
    return (
        f"candidate {candidate.id} did not evaluate ok ({candidate.status}{line}): only a player that ran is "
        f"exported; `evolver show {candidate.id}` shows its code and error"
    )


def best_candidate(store: Store, job_id: int) -> int:
    """The id of a job's best candidate; EvolverError when the job has none that evaluated ok."""
    job = store.job(job_id)
    if job is None:
        raise EvolverError(f"no job {job_id}; `evolver jobs` lists them")
    best = store.best(job_id, job.direction)
    if best is None:
        raise EvolverError(f"job {job_id} has no candidate that evaluated ok")
    return best.id
