"""The store's identity: an id created with it, the CRM account of each connector, and
which contacts are held because another store wrote their crmbridge values.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from crmbridge import clock

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("legacy_unmarked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id"),
    )
    # A store upgraded while holding contacts wrote their crmbridge values before marks
    # existed: unmarked values are its own. A store created by this release never
    # wrote without its mark, so unmarked crmbridge values are someone else's.
    legacy = op.get_bind().execute(sa.text("SELECT 1 FROM contacts LIMIT 1")).first() is not None
    # An existing store gets its id here, a new one as it is created: either way the
    # id is born with the database file (or Postgres database) and dies with it.
    op.bulk_insert(
        identity,
        [
            {
                "id": str(uuid.uuid4()),
                "generation": 0,
                "created_at": clock.now().replace(tzinfo=None),
                "legacy_unmarked": legacy,
            }
        ],
    )
    op.create_table(
        "connector_accounts",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("bound_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("connector"),
    )
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("held_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("adopted_from", sa.String(length=80), nullable=True))
    op.create_index(
        "ix_contacts_held",
        "contacts",
        ["held_by"],
        sqlite_where=sa.text("held_by IS NOT NULL"),
        postgresql_where=sa.text("held_by IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_held", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("adopted_from")
        batch.drop_column("held_by")
    op.drop_table("connector_accounts")
    op.drop_table("store_identity")
