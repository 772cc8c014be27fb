"""A send counts the attempts that failed (`failed_attempts`) instead of raising
`max_attempts` for every attempt lost through no fault of its own (a dead worker, a
throttle, a bulk send stepping aside): the budget a send was given never grows.

Rows already there get their count back from the audit log (the retries since the send
was last requeued, and the failure that ended it), and `max_attempts` goes back to the
budget they were given: what it grew by is the attempts they used beyond their failures.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SENDS = sa.table(
    "sends",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("attempt", sa.Integer),
    sa.column("max_attempts", sa.Integer),
    sa.column("failed_attempts", sa.Integer),
)
_AUDIT = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("subject_type", sa.String),
    sa.column("subject_id", sa.Integer),
)


def _audit_of_send(audit: sa.TableClause | sa.Alias, action: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        audit.c.subject_type == "send",
        audit.c.subject_id == _SENDS.c.id,
        audit.c.action == action,
    )


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    requeues = _AUDIT.alias("requeues")
    last_requeue = sa.func.coalesce(
        sa.select(sa.func.max(requeues.c.id))
        .where(_audit_of_send(requeues, "send.requeued"))
        .correlate(_SENDS)
        .scalar_subquery(),
        0,
    )
    retries = (
        sa.select(sa.func.count())
        .select_from(_AUDIT)
        .where(_audit_of_send(_AUDIT, "send.retry"), _AUDIT.c.id > last_requeue)
        .correlate(_SENDS)
        .scalar_subquery()
    )
    bind = op.get_bind()
    bind.execute(_SENDS.update().values(failed_attempts=retries))
    # Each attempt beyond the first that was not a retry raised max_attempts by one.
    bind.execute(
        _SENDS.update().values(
            max_attempts=_SENDS.c.max_attempts - _SENDS.c.attempt + 1 + _SENDS.c.failed_attempts
        )
    )
    bind.execute(
        _SENDS.update()
        .where(_SENDS.c.status == "failed")
        .values(failed_attempts=_SENDS.c.failed_attempts + 1)
    )


def downgrade() -> None:
    bind = op.get_bind()
    failed = sa.case((_SENDS.c.status == "failed", 1), else_=0)
    bind.execute(
        _SENDS.update().values(
            max_attempts=_SENDS.c.max_attempts
            + _SENDS.c.attempt
            - 1
            - (_SENDS.c.failed_attempts - failed)
        )
    )
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("failed_attempts")
