"""Shared rate budget: request counts per connector and time slice, for replicas.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_budget",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("slice_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "slice_start"),
    )


def downgrade() -> None:
    op.drop_table("rate_budget")
