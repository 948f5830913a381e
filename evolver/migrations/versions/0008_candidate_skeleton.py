"""A candidate's skeleton (evolver/tuning.py): its code with its tunable constants blanked, so the trials of a
skeleton are found by an index rather than by parsing every code of a job. Candidates stored before have none
(their trials are not found: a resumed search starts its tuning over).

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("skeleton", sa.String(64), nullable=True))
        batch.create_index("ix_candidates_skeleton", ["job_id", "model_id", "skeleton"])


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_skeleton")
        batch.drop_column("skeleton")
