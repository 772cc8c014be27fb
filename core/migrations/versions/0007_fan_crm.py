"""The CRM's fans: an @handle, custom fields, and when the fan last wrote
(`last_active_ms`, taken from the messages already stored), with the indexes the fan list
reads by (spend and last activity, overall and per account, and handles per account); the
messages' money by index (tips, purchases, offers, unpaid offers: `core.models.Message`);
and on PostgreSQL, a trigram index of the fan list's search text, name, handle and id
(`pg_trgm`, which a database owner may create since PostgreSQL 13).

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

# The newest inbound message of each fan, in epoch milliseconds, in each dialect's terms:
# SQLite stores naive UTC text, PostgreSQL a timestamptz.
_LAST_INBOUND = {
    "sqlite": "CAST(ROUND((julianday(MAX(m.sent_at)) - 2440587.5) * 86400000) AS INTEGER)",
    "postgresql": "CAST(ROUND(EXTRACT(EPOCH FROM MAX(m.sent_at)) * 1000) AS BIGINT)",
}
_INDEXES = {
    "ix_fans_account_handle": ["account_id", "handle"],
    "ix_fans_spend": ["total_spend_cents", "id"],
    "ix_fans_account_spend": ["account_id", "total_spend_cents", "id"],
    "ix_fans_active": ["last_active_ms", "id"],
    "ix_fans_account_active": ["account_id", "last_active_ms", "id"],
}


# As `core.models` states them.
_MONEY = {
    "ix_messages_tips": ("sent_at", "tip_cents > 0"),
    "ix_messages_purchases": ("coalesce(paid_at, sent_at)", "ppv_paid IS true"),
    "ix_messages_offers": ("sent_at", "direction = 'outbound' AND ppv_price_cents IS NOT NULL"),
    "ix_messages_unpaid_offers": (
        "conversation_id",
        "direction = 'outbound' AND ppv_price_cents IS NOT NULL "
        "AND (ppv_paid IS NULL OR ppv_paid IS false)",
    ),
}
# `core.models.FAN_SEARCH_TEXT`, as the query states it.
_SEARCH_TEXT = "name || ' ' || coalesce(handle, '') || ' ' || platform_fan_id"


def upgrade() -> None:
    with op.batch_alter_table("fans") as batch:
        batch.add_column(sa.Column("handle", sa.String(200), nullable=True))
        batch.add_column(sa.Column("custom_fields", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(
            sa.Column("last_active_ms", sa.BigInteger(), nullable=False, server_default="0")
        )
    last_inbound = _LAST_INBOUND[op.get_bind().dialect.name]
    op.execute(
        "UPDATE fans SET last_active_ms = COALESCE(("
        f"SELECT {last_inbound} FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id "
        "WHERE c.fan_id = fans.id AND m.direction = 'inbound'), 0)"
    )
    for name, columns in _INDEXES.items():
        op.create_index(name, "fans", columns)
    for name, (expression, where) in _MONEY.items():
        op.create_index(
            name,
            "messages",
            [sa.text(expression)],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            f"CREATE INDEX ix_fans_search_trgm ON fans USING gin (({_SEARCH_TEXT}) gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_fans_search_trgm", table_name="fans")
    for name in _MONEY:
        op.drop_index(name, table_name="messages")
    for name in _INDEXES:
        op.drop_index(name, table_name="fans")
    with op.batch_alter_table("fans") as batch:
        batch.drop_column("last_active_ms")
        batch.drop_column("custom_fields")
        batch.drop_column("handle")
