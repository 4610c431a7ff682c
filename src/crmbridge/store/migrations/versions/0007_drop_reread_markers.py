"""Delete the ``changed:<crm id>`` rows webhooks wrote into ``cursors``.

Webhooks used to note every record they named as a ``changed:<crm id>`` stream, which
nothing read: polls read by modification time and webhooks mark known contacts dirty.
They no longer write them; the rows left hold CRM record ids of people (some since
forgotten), so they go.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # substr, not LIKE: SQLite's LIKE ignores case, and this prefix is exact.
    op.execute(sa.text("DELETE FROM cursors WHERE substr(stream, 1, 8) = 'changed:'"))


def downgrade() -> None:
    """Nothing to restore: the markers were never read."""
