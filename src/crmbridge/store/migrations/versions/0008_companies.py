"""Companies (accounts) for ``company.`` rules: a cache, and each contact's company.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=32), nullable=False),
        sa.Column("crm_id", sa.String(length=64), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("fetched", sa.String(length=32), nullable=False),
        sa.Column("crm_updated_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("crm", "crm_id", name="uq_companies_crm_id"),
    )
    op.create_table(
        "contact_companies",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=32), nullable=False),
        sa.Column("company_crm_id", sa.String(length=64), nullable=True),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"]),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index(
        "ix_contact_companies_company",
        "contact_companies",
        ["crm", "company_crm_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contact_companies_company", table_name="contact_companies")
    op.drop_table("contact_companies")
    op.drop_table("companies")
