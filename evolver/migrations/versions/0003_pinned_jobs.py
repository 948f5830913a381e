"""Jobs that keep to what they were given: the scenario pinned, the phase reached, retired models, replies
cached per job step, and replays of another job's replies.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STANDING = ["job_id", "model_id", "status", "score", "id", "cost", "replayed_from"]
"""A covering index of what a job's standing reads: its rows are read without their code, prompt and reply."""


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("scenario_source", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scenario_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("phase", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("replay", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("replayed_from", sa.BigInteger(), nullable=True))
        batch.drop_index("ix_candidates_job_id_model_id")
        batch.create_index("ix_candidates_standing", STANDING)
    with op.batch_alter_table("replies") as batch:
        batch.drop_constraint("uq_replies_model_id_prompt_hash_seed", type_="unique")
        batch.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("replayed_from", sa.BigInteger(), nullable=True))
        batch.create_foreign_key("fk_replies_job_id_jobs", "jobs", ["job_id"], ["id"])
        batch.create_unique_constraint("uq_replies_key_prompt_hash", ["key", "prompt_hash"])
        batch.create_index("ix_replies_job_id_model_id_prompt_hash", ["job_id", "model_id", "prompt_hash"])
    op.create_table(
        "retired_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_retired_models_job_id_jobs"),
        sa.PrimaryKeyConstraint("id", name="pk_retired_models"),
        sa.UniqueConstraint("job_id", "model_id", name="uq_retired_models_job_id_model_id"),
    )


def downgrade() -> None:
    op.drop_table("retired_models")
    op.execute("DELETE FROM replies")  # a cache: the old key (model, prompt, seed) may repeat across jobs
    with op.batch_alter_table("replies") as batch:
        batch.drop_index("ix_replies_job_id_model_id_prompt_hash")
        batch.drop_constraint("uq_replies_key_prompt_hash", type_="unique")
        batch.drop_constraint("fk_replies_job_id_jobs", type_="foreignkey")
        batch.drop_column("replayed_from")
        batch.drop_column("key")
        batch.drop_column("job_id")
        batch.create_unique_constraint("uq_replies_model_id_prompt_hash_seed", ["model_id", "prompt_hash", "seed"])
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_standing")
        batch.create_index("ix_candidates_job_id_model_id", ["job_id", "model_id"])
        batch.drop_column("replayed_from")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("replay")
        batch.drop_column("phase")
        batch.drop_column("scenario_hash")
        batch.drop_column("scenario_source")
