"""Feedback in prompts: a training evaluation's feedback (refusals by reason, a run in periods), and what the
selection chose for a candidate (parent, target, inspirations, why) with how its reply edited the code.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evaluations") as batch:
        batch.add_column(sa.Column("feedback", sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("choice", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("choice")
    with op.batch_alter_table("evaluations") as batch:
        batch.drop_column("feedback")
