"""The sandbox's SQLite database: schema, one shared connection, transactions.

One process owns the file. FastAPI runs sync endpoints on a thread pool, so every use of
the connection goes through `Database.transaction()`, which holds a lock for the whole
transaction: reads see a consistent state and check-then-write guards (the send gap) are
atomic. WAL mode keeps the file readable by other processes (sqlite3 CLI) meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_REFUSALS = """
-- conversation_id is NULL for a request refused by the action cap.
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    last_send_ts REAL,
    logins INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_ts REAL NOT NULL,
    uses_left INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions(account_id);
CREATE TABLE IF NOT EXISTS fans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    fan_id INTEGER NOT NULL REFERENCES fans(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    -- Denormalised so the inbox is one indexed range scan: time and id of the newest
    -- message (the conversation's creation time until it has one).
    last_at TEXT NOT NULL,
    last_message_id INTEGER,
    UNIQUE (account_id, fan_id)
);
CREATE INDEX IF NOT EXISTS conversations_inbox
    ON conversations(account_id, last_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    text TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    tip_cents INTEGER NOT NULL DEFAULT 0,
    ppv_price_cents INTEGER,
    ppv_paid INTEGER,
    read_at TEXT,
    cadence TEXT,
    -- JSON list of the vault items attached (public ids), NULL for none.
    media TEXT,
    -- When the fan bought this PPV message.
    paid_at TEXT
);
CREATE TABLE IF NOT EXISTS vault (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_thread ON messages(conversation_id, sent_at, id);
CREATE INDEX IF NOT EXISTS messages_unread
    ON messages(conversation_id) WHERE direction = 'in' AND read_at IS NULL;
"""
    + _REFUSALS
    + """CREATE TABLE IF NOT EXISTS flags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flags_by_message ON flags(message_id);
"""
)


def _count_session_uses(conn: sqlite3.Connection) -> None:
    """Give a `sessions` table from before request-limited sessions its `uses_left`
    (NULL: the session ends only when it expires)."""
    columns = {column["name"] for column in conn.execute("PRAGMA table_info(sessions)")}
    if "uses_left" not in columns:
        conn.execute("ALTER TABLE sessions ADD COLUMN uses_left INTEGER")


def _attach_media(conn: sqlite3.Connection) -> None:
    """Give a `messages` table from before the vault and the purchases page its `media`
    and `paid_at` columns."""
    columns = {column["name"] for column in conn.execute("PRAGMA table_info(messages)")}
    for column in ("media", "paid_at"):
        if column not in columns:
            conn.execute(f"ALTER TABLE messages ADD COLUMN {column} TEXT")


def _allow_refusals_without_conversation(conn: sqlite3.Connection) -> None:
    """Rebuild a `refusals` table from before the action cap, whose conversation_id was
    NOT NULL (SQLite cannot drop a constraint in place); its rows are kept."""
    columns = conn.execute("PRAGMA table_info(refusals)").fetchall()
    if not any(column["name"] == "conversation_id" and column["notnull"] for column in columns):
        return
    conn.executescript(
        "BEGIN IMMEDIATE;"
        " ALTER TABLE refusals RENAME TO refusals_before_action_cap;"
        f" {_REFUSALS}"
        " INSERT INTO refusals SELECT * FROM refusals_before_action_cap;"
        " DROP TABLE refusals_before_action_cap;"
        " COMMIT;"
    )


# Children before parents, so deleting never trips a foreign key.
_TABLES = (
    "flags",
    "refusals",
    "messages",
    "conversations",
    "fans",
    "vault",
    "sessions",
    "accounts",
)


class Database:
    """A SQLite file with the sandbox schema, shared safely between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, see transaction().
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        _allow_refusals_without_conversation(self._conn)
        _count_session_uses(self._conn)
        _attach_media(self._conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection for one transaction; commit on success, roll back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def wipe(self) -> None:
        """Delete every row. Ids keep counting up, so nothing from before a wipe is reused."""
        with self.transaction() as tx:
            for table in _TABLES:
                tx.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        """Close the connection; the object is unusable afterwards."""
        with self._lock:
            self._conn.close()
