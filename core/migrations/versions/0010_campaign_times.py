"""Campaigns in each account's time: an account's time zone (`accounts.time_zone`, an IANA
name, UTC for the accounts already there), a campaign's wall-clock time read in each
account's zone (`campaigns.local_send_at`) and the accounts it has reached so far
(`campaigns.launched_accounts`); and a campaign that could not launch says why
(`campaigns.failure`, `campaigns.failed_at`).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
        )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("local_send_at", sa.String(19), nullable=True))
        batch.add_column(
            sa.Column("launched_accounts", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("failure", sa.Text(), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("failure")
        batch.drop_column("launched_accounts")
        batch.drop_column("local_send_at")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("time_zone")
