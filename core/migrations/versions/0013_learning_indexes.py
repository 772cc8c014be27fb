"""What the drafts learn from, by index (`core.review.learning`): an account's approved
drafts of a kind and its rejected ones, newest decision first, and the delivered PPVs
that drafts became. Without them every draft written read all of an account's decided
drafts of the last 30 days.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_APPROVED = "status = 'approved'"
_REJECTED = "status = 'rejected'"
_DRAFTED_PPV = "status = 'delivered' AND draft_id IS NOT NULL AND ppv_price_cents IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_drafts_approved_decided",
        "drafts",
        ["account_id", "kind", "decided_at", "id"],
        sqlite_where=sa.text(_APPROVED),
        postgresql_where=sa.text(_APPROVED),
    )
    op.create_index(
        "ix_drafts_rejected_decided",
        "drafts",
        ["account_id", "decided_at", "id"],
        sqlite_where=sa.text(_REJECTED),
        postgresql_where=sa.text(_REJECTED),
    )
    op.create_index(
        "ix_sends_drafted_ppvs",
        "sends",
        ["account_id"],
        sqlite_where=sa.text(_DRAFTED_PPV),
        postgresql_where=sa.text(_DRAFTED_PPV),
    )


def downgrade() -> None:
    op.drop_index("ix_sends_drafted_ppvs", table_name="sends")
    op.drop_index("ix_drafts_rejected_decided", table_name="drafts")
    op.drop_index("ix_drafts_approved_decided", table_name="drafts")
