"""Creator accounts: creation and lookup."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sandbox.errors import Conflict, NotFound
from sandbox.timestamps import now_iso


@dataclass(frozen=True)
class Account:
    """A creator account as pages and guards need it."""

    id: int
    username: str
    display_name: str


def create_account(
    tx: sqlite3.Connection, username: str, password_hash: str, display_name: str
) -> Account:
    """Insert an account; raises Conflict if the username is taken."""
    try:
        cursor = tx.execute(
            "INSERT INTO accounts (username, display_name, password_hash, created_at)"
            " VALUES (?, ?, ?, ?)",
            (username, display_name, password_hash, now_iso()),
        )
    except sqlite3.IntegrityError as error:
        raise Conflict(f"username {username!r} is already taken") from error
    return Account(int(cursor.lastrowid or 0), username, display_name)


def find_account(tx: sqlite3.Connection, username: str) -> Account | None:
    """The account called `username`, if any."""
    row = tx.execute(
        "SELECT id, username, display_name FROM accounts WHERE username = ?", (username,)
    ).fetchone()
    return Account(row["id"], row["username"], row["display_name"]) if row else None


def require_account(tx: sqlite3.Connection, username: str) -> Account:
    """The account called `username`; raises NotFound if there is none."""
    account = find_account(tx, username)
    if account is None:
        raise NotFound(f"no account {username!r}")
    return account


def login_count(tx: sqlite3.Connection, account_id: int) -> int:
    """How many times the account has logged in: a real platform's login history."""
    row = tx.execute("SELECT logins FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return int(row["logins"]) if row else 0


# Velvet signs in by email: every account has one, made from its username.
EMAIL_DOMAIN = "creators.velvet.test"


def email_of(username: str) -> str:
    """The email an account signs in with where the platform asks for one."""
    return f"{username.lower()}@{EMAIL_DOMAIN}"


def username_for_email(email: str) -> str | None:
    """The username behind a sign-in email, or None when it is no account's email."""
    local, _, domain = email.strip().lower().rpartition("@")
    return local if local and domain == EMAIL_DOMAIN else None


def _with_hash(tx: sqlite3.Connection, where: str, value: str) -> tuple[Account, str] | None:
    row = tx.execute(
        f"SELECT id, username, display_name, password_hash FROM accounts WHERE {where}", (value,)
    ).fetchone()
    if row is None:
        return None
    return Account(row["id"], row["username"], row["display_name"]), row["password_hash"]


def password_hash_of(tx: sqlite3.Connection, username: str) -> tuple[Account, str] | None:
    """The account called `username` and its stored password hash, for logging in."""
    return _with_hash(tx, "username = ?", username)


def password_hash_by_email(tx: sqlite3.Connection, email: str) -> tuple[Account, str] | None:
    """The account signing in with `email` and its stored password hash."""
    username = username_for_email(email)
    if username is None:
        return None
    return _with_hash(tx, "lower(username) = ?", username)
