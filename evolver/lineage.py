"""How a candidate differs from its parent: what the lineage views (the CLI's `show`, the API) print."""

from __future__ import annotations

import difflib

from evolver.store import CandidateRow


def code_diff(parent: CandidateRow, candidate: CandidateRow) -> str:
    """The unified diff of the candidate's code against its parent's ("" when they are the same)."""
    lines = difflib.unified_diff(
        parent.code.splitlines(), candidate.code.splitlines(), f"#{parent.id}", f"#{candidate.id}", lineterm=""
    )
    return "\n".join(lines)
