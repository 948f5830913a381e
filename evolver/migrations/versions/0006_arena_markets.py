"""Arena tournaments: each round's market of the champions, and an arena beat's scores against its target.

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "markets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("candidate_ids", sa.JSON(), nullable=False),
        sa.Column("seeds", sa.JSON(), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("per_seed", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_markets_job_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_markets"),
        sa.UniqueConstraint("key", name="uq_markets_key"),
    )
    op.create_index("ix_markets_job_id", "markets", ["job_id"])
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("versus_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("versus_target_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("versus_target_score")
        batch.drop_column("versus_score")
    op.drop_index("ix_markets_job_id", table_name="markets")
    op.drop_table("markets")
