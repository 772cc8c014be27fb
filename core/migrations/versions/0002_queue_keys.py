"""The approval queue's keys on every draft, and the partial indexes that read the queue a
page at a time (`core.priority.keys`, `core.review.listing`).

Existing drafts get their keys as `core.priority` computed them at this revision: the
conversation's account, the fan's tier and points (negated as the rank), when the wait
began (the fan's message; a nudge's own creation) and the account's response target.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PENDING = "status = 'pending'"
_NUDGE = "kind IN ('follow_up', 're_engage')"
_KEYS = ("account_id", "fan_tier", "queue_rank", "wait_since_ms", "target_ms")
_QUEUE_INDEXES: dict[str, tuple[list[str], str]] = {
    "ix_drafts_queue": (["queue_rank", "wait_since_ms", "id"], f"{_PENDING} AND NOT ({_NUDGE})"),
    "ix_drafts_nudge_queue": (["queue_rank", "wait_since_ms", "id"], f"{_PENDING} AND {_NUDGE}"),
    "ix_drafts_account_queue": (["account_id", "queue_rank", "wait_since_ms", "id"], _PENDING),
    "ix_drafts_tier_queue": (["fan_tier", "queue_rank", "wait_since_ms", "id"], _PENDING),
    "ix_drafts_pending_wait_since_ms": (["wait_since_ms"], _PENDING),
    "ix_drafts_pending_target_ms": (["target_ms"], _PENDING),
}

# The queue's points as `core.priority.order` gave them at this revision.
_TIERS = ((50_000, "top", 40), (5_000, "mid", 20), (1, "low", 10))
_KIND_POINTS = {"ppv_offer": 20, "tip_thanks": 15, "reply": 10, "follow_up": 5, "re_engage": 0}
_NUDGES = {"follow_up", "re_engage"}
_DEFAULT_TARGET_S = 300.0
_CHUNK = 1_000


def _tier(spend: int) -> tuple[str, int]:
    for floor, name, points in _TIERS:
        if spend >= floor:
            return name, points
    return "none", 0


def _ms(value: datetime | str) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def _target_ms(policy: Any) -> int:
    target = policy.get("response_target_s") if isinstance(policy, dict) else None
    if not isinstance(target, int | float) or isinstance(target, bool) or target <= 0:
        target = _DEFAULT_TARGET_S
    return max(round(target * 1000), 1)


def _keys(bind: sa.Connection) -> Iterator[list[dict[str, Any]]]:
    """The keys of every draft, a chunk at a time."""
    drafts = sa.table(
        "drafts",
        sa.column("id", sa.Integer),
        sa.column("conversation_id", sa.Integer),
        sa.column("message_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    conversations = sa.table(
        "conversations",
        sa.column("id", sa.Integer),
        sa.column("account_id", sa.Integer),
        sa.column("fan_id", sa.Integer),
    )
    fans = sa.table("fans", sa.column("id", sa.Integer), sa.column("total_spend_cents", sa.Integer))
    messages = sa.table(
        "messages", sa.column("id", sa.Integer), sa.column("sent_at", sa.DateTime(timezone=True))
    )
    accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("policy", sa.JSON))
    rows = bind.execute(
        sa.select(
            drafts.c.id,
            drafts.c.kind,
            drafts.c.created_at,
            conversations.c.account_id,
            fans.c.total_spend_cents,
            messages.c.sent_at,
            accounts.c.policy,
        )
        .join(conversations, drafts.c.conversation_id == conversations.c.id)
        .join(fans, conversations.c.fan_id == fans.c.id)
        .join(messages, drafts.c.message_id == messages.c.id)
        .join(accounts, conversations.c.account_id == accounts.c.id)
        .order_by(drafts.c.id)
    )
    chunk: list[dict[str, Any]] = []
    for draft_id, kind, created_at, account_id, spend, sent_at, policy in rows:
        tier, tier_points = _tier(spend)
        value = min(spend / 10_000, 10)
        points = round((tier_points + value + _KIND_POINTS.get(kind, 0)) * 100)
        chunk.append(
            {
                "draft": draft_id,
                "account_id": account_id,
                "fan_tier": tier,
                "queue_rank": -points,
                "wait_since_ms": _ms(created_at if kind in _NUDGES else sent_at),
                "target_ms": _target_ms(policy),
            }
        )
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fan_tier", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("queue_rank", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("wait_since_ms", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("target_ms", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    drafts = sa.table("drafts", sa.column("id", sa.Integer), *(sa.column(key) for key in _KEYS))
    update = (
        drafts.update()
        .where(drafts.c.id == sa.bindparam("draft"))
        .values({key: sa.bindparam(key) for key in _KEYS})
    )
    for chunk in list(_keys(bind)):
        bind.execute(update, chunk)
    with op.batch_alter_table("drafts") as batch:
        for key in _KEYS:
            batch.alter_column(key, nullable=False)
        batch.create_foreign_key(
            "drafts_account_id_fkey", "accounts", ["account_id"], ["id"], ondelete="CASCADE"
        )
    for name, (columns, where) in _QUEUE_INDEXES.items():
        op.create_index(
            name,
            "drafts",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name in _QUEUE_INDEXES:
        op.drop_index(name, table_name="drafts")
    with op.batch_alter_table("drafts") as batch:
        batch.drop_constraint("drafts_account_id_fkey", type_="foreignkey")
        for key in _KEYS:
            batch.drop_column(key)
