"""Login sessions: one live session per account, identified by a random cookie token.

Only a SHA-256 of each token is stored, so the database cannot be used to hijack a login.
Starting a session ends the account's previous one, as real platforms do when the same
account logs in from a second browser.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time

from sandbox.accounts import Account
from sandbox.timestamps import now_iso

COOKIE_NAME = "sbx_session"


def start_session(
    tx: sqlite3.Connection, account_id: int, ttl_s: float, max_uses: int | None = None
) -> str:
    """End the account's sessions and open a new one; returns the new cookie token. The
    session ends after `ttl_s` seconds, or once it has served `max_uses` logged-in
    requests, whichever comes first."""
    token = secrets.token_urlsafe(32)
    tx.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))
    tx.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_ts, uses_left)"
        " VALUES (?, ?, ?, ?, ?)",
        (_hash(token), account_id, now_iso(), time.time() + ttl_s, max_uses),
    )
    tx.execute("UPDATE accounts SET logins = logins + 1 WHERE id = ?", (account_id,))
    return token


def session_account(tx: sqlite3.Connection, token: str) -> Account | None:
    """The account logged in with `token`, or None if the token is unknown, expired or
    has served all its requests. Each call is one request the session serves."""
    row = tx.execute(
        "SELECT a.id, a.username, a.display_name, s.uses_left FROM sessions s"
        " JOIN accounts a ON a.id = s.account_id"
        " WHERE s.token_hash = ? AND s.expires_ts > ?",
        (_hash(token), time.time()),
    ).fetchone()
    if row is None:
        return None
    if row["uses_left"] is not None:
        if row["uses_left"] <= 0:
            end_session(tx, token)
            return None
        tx.execute(
            "UPDATE sessions SET uses_left = uses_left - 1 WHERE token_hash = ?", (_hash(token),)
        )
    return Account(row["id"], row["username"], row["display_name"])


def end_session(tx: sqlite3.Connection, token: str) -> None:
    """Log out the session with `token` (no-op if it is already gone)."""
    tx.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))


def end_account_sessions(tx: sqlite3.Connection, account_id: int) -> int:
    """Log out every session of an account; returns how many there were."""
    return tx.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,)).rowcount


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
