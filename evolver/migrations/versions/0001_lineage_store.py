"""The lineage store: jobs, models, candidates and evaluations.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("comp", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("budget", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_line", sa.Integer(), nullable=True),
        sa.Column("improved", sa.Boolean(), nullable=True),
        sa.Column("prompt", sa.JSON(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
        sa.UniqueConstraint("key", name="uq_candidates_key"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_candidates_job_id_jobs"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_candidates_model_id_models"),
        sa.ForeignKeyConstraint(["parent_id"], ["candidates.id"], name="fk_candidates_parent_id_candidates"),
        sa.ForeignKeyConstraint(["target_id"], ["candidates.id"], name="fk_candidates_target_id_candidates"),
    )
    op.create_index("ix_candidates_job_id", "candidates", ["job_id"])
    op.create_index("ix_candidates_job_id_model_id", "candidates", ["job_id", "model_id"])
    op.create_index("ix_candidates_code_hash", "candidates", ["code_hash"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("seeds", sa.JSON(), nullable=False),
        sa.Column("seeds_key", sa.Text(), nullable=False),
        sa.Column("years", sa.Float(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("per_seed", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
        sa.UniqueConstraint("candidate_id", "seeds_key", name="uq_evaluations_candidate_id_seeds_key"),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"], name="fk_evaluations_candidate_id_candidates"),
    )


def downgrade() -> None:
    op.drop_table("evaluations")
    op.drop_index("ix_candidates_code_hash", table_name="candidates")
    op.drop_index("ix_candidates_job_id_model_id", table_name="candidates")
    op.drop_index("ix_candidates_job_id", table_name="candidates")
    op.drop_table("candidates")
    op.drop_table("models")
    op.drop_table("jobs")
