"""Held-out seeds: a candidate's held-out score and status, and which evaluation was on held-out seeds (and why an
evaluation failed).

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STANDING = ["job_id", "model_id", "status", "score", "id", "cost", "replayed_from"]
"""The covering index of a job's standing (0003); it now covers the best candidate's held-out score too."""


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("heldout_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("heldout_status", sa.String(32), nullable=True))
        batch.drop_index("ix_candidates_standing")
        batch.create_index("ix_candidates_standing", [*STANDING, "heldout_score"])
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("heldout", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("error_line", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM evaluations WHERE heldout")  # 0003 knows no held-out evaluation
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("error_line")
        batch.drop_column("error")
        batch.drop_column("heldout")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_standing")
        batch.create_index("ix_candidates_standing", STANDING)
        batch.drop_column("heldout_status")
        batch.drop_column("heldout_score")
