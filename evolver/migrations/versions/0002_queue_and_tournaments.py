"""Tournaments and the queue: a job's kind, match rows, and the model-reply cache.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="evolve"))
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("challenger", sa.String(255), nullable=False),
        sa.Column("defender", sa.String(255), nullable=False),
        sa.Column("challenger_candidate_id", sa.Integer(), nullable=True),
        sa.Column("defender_candidate_id", sa.Integer(), nullable=False),
        sa.Column("seeds", sa.JSON(), nullable=False),
        sa.Column("challenger_score", sa.Float(), nullable=True),
        sa.Column("defender_score", sa.Float(), nullable=False),
        sa.Column("won", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_matches_job_id_jobs"),
        sa.ForeignKeyConstraint(
            ["challenger_candidate_id"], ["candidates.id"], name="fk_matches_challenger_candidate_id_candidates"
        ),
        sa.ForeignKeyConstraint(
            ["defender_candidate_id"], ["candidates.id"], name="fk_matches_defender_candidate_id_candidates"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_matches"),
        sa.UniqueConstraint(
            "job_id", "round", "challenger", "defender", name="uq_matches_job_id_round_challenger_defender"
        ),
    )
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("prompt_hash", sa.String(64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("op", sa.String(16), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
        sa.UniqueConstraint("model_id", "prompt_hash", "seed", name="uq_replies_model_id_prompt_hash_seed"),
    )


def downgrade() -> None:
    op.drop_table("replies")
    op.drop_table("matches")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("kind")
