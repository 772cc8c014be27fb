"""The pending drafts by when their review claim runs out, so an open console learns of a
claim that ran out unreleased at once, by index (`core.review.claims_ran_out`).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_PENDING = "status = 'pending'"


def upgrade() -> None:
    op.create_index(
        "ix_drafts_pending_claim_expires_at",
        "drafts",
        ["claim_expires_at"],
        sqlite_where=sa.text(_PENDING),
        postgresql_where=sa.text(_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_drafts_pending_claim_expires_at", table_name="drafts")
