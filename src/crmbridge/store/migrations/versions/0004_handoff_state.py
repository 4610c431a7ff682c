"""Hand-off state on contacts, and the owner an SLA clock runs for.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("handoff", sa.JSON(), nullable=True))
    with op.batch_alter_table("sla_clocks") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sla_clocks") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("owner_id")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("handoff")
