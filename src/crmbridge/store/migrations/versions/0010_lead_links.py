"""Cross-CRM leads: the records of one person in several CRMs, and sync loops seen.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    links = op.create_table(
        "lead_links",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index("ix_lead_links_lead_id", "lead_links", ["lead_id"], unique=False)
    op.create_table(
        "sync_loops",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("property", sa.String(length=128), nullable=False),
        sa.Column("other", sa.String(length=32), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("ours", sa.String(length=200), nullable=False),
        sa.Column("theirs", sa.String(length=200), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("connector", "property", "other"),
    )
    _link_existing(links)


def _link_existing(links: sa.Table) -> None:
    """Link the people a store already holds in several CRMs (one record in each)."""
    contacts = sa.table("contacts", sa.column("id"), sa.column("crm"), sa.column("email"))
    bind = op.get_bind()
    shared = (
        sa.select(contacts.c.email)
        .where(contacts.c.email.is_not(None))
        .group_by(contacts.c.email)
        .having(sa.func.count(sa.distinct(contacts.c.crm)) > 1)
    )
    people: dict[str, list[tuple[int, str]]] = defaultdict(list)
    query = sa.select(contacts.c.id, contacts.c.crm, contacts.c.email).where(
        contacts.c.email.in_(shared)
    )
    for contact_id, crm, email in bind.execute(query):
        people[email].append((int(contact_id), crm))
    rows: list[dict[str, object]] = []
    for records in people.values():
        crms = [crm for _, crm in records]
        if len(set(crms)) == len(crms):  # several records in one CRM: left unlinked
            lead = min(contact_id for contact_id, _ in records)
            rows.extend(
                {"contact_id": contact_id, "lead_id": lead, "linked_at": None}
                for contact_id, _ in records
            )
    if rows:
        op.bulk_insert(links, rows)


def downgrade() -> None:
    op.drop_table("sync_loops")
    op.drop_index("ix_lead_links_lead_id", table_name="lead_links")
    op.drop_table("lead_links")
