"""The components a job's scenario composed (`kind@version#hash` by key), recorded at submit, so a job never runs
a component whose definition changed since (the scenario's text names a component, not its code). Jobs stored
before have none (nothing is checked).

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-11 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("scenario_components", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("scenario_components")
