"""Property history: each change of a contact's stored properties, with its time.

Contacts already stored get ``properties_since`` = the CRM's modification time of the
values held (else when they were last read): every change from then on is found by the
next read's comparison with those values, so their history is complete from there.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "property_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("property", sa.String(length=255), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_property_history_contact",
        "property_history",
        ["contact_id", "changed_at"],
        unique=False,
    )
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("properties_since", sa.DateTime(), nullable=True))
    op.execute("UPDATE contacts SET properties_since = COALESCE(crm_updated_at, updated_at)")


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("properties_since")
    op.drop_index("ix_property_history_contact", table_name="property_history")
    op.drop_table("property_history")
