"""Platform credentials sealed at rest (`core.crypto`): the password becomes a sealed
token, and the saved browser session (cookies, which log in as well as a password does)
moves to `session_sealed`, sealed too.

Rows already there are sealed with the keyring `fleet db upgrade` hands over; without
one, a database holding accounts is refused rather than left half sealed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ACCOUNTS = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("password", sa.Text),
    sa.column("session_state", sa.JSON),
    sa.column("session_sealed", sa.Text),
)


def _keyring(bind: sa.Connection) -> Any:
    keyring = context.config.attributes.get("keyring")
    if keyring is None and bind.execute(sa.select(sa.func.count()).select_from(_ACCOUNTS)).scalar():
        raise RuntimeError(
            "sealing the accounts' credentials needs the secret key: run `fleet db upgrade`"
        )
    return keyring


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("password", type_=sa.Text(), existing_type=sa.String(length=500))
        batch.add_column(sa.Column("session_sealed", sa.Text(), nullable=True))
    bind = op.get_bind()
    keyring = _keyring(bind)
    rows = bind.execute(
        sa.select(_ACCOUNTS.c.id, _ACCOUNTS.c.password, _ACCOUNTS.c.session_state)
    ).all()
    for account_id, password, state in rows:
        bind.execute(
            _ACCOUNTS.update()
            .where(_ACCOUNTS.c.id == account_id)
            .values(
                password=keyring.seal(password),
                session_sealed=None if state is None else keyring.seal(json.dumps(state)),
            )
        )
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("session_state")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("session_state", sa.JSON(), nullable=True))
    bind = op.get_bind()
    keyring = _keyring(bind)
    rows = bind.execute(
        sa.select(_ACCOUNTS.c.id, _ACCOUNTS.c.password, _ACCOUNTS.c.session_sealed)
    ).all()
    for account_id, password, sealed in rows:
        bind.execute(
            _ACCOUNTS.update()
            .where(_ACCOUNTS.c.id == account_id)
            .values(
                password=keyring.open(password),
                session_state=None if sealed is None else json.loads(keyring.open(sealed)),
            )
        )
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("session_sealed")
        batch.alter_column("password", type_=sa.String(length=500), existing_type=sa.Text())
