"""The vault: media an account has uploaded once and attaches to messages (PPV posts)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox.ids import Kind, format_id, parse_id
from sandbox.timestamps import now_iso


@dataclass(frozen=True)
class MediaItem:
    """One item of an account's vault."""

    id: int
    title: str

    @property
    def public_id(self) -> str:
        """The id pages show, like `v3`."""
        return format_id(Kind.MEDIA, self.id)


def add_media(tx: sqlite3.Connection, account_id: int, title: str) -> MediaItem:
    """Put an item in the account's vault."""
    cursor = tx.execute(
        "INSERT INTO vault (account_id, title, created_at) VALUES (?, ?, ?)",
        (account_id, title, now_iso()),
    )
    return MediaItem(int(cursor.lastrowid or 0), title)


def vault_of(tx: sqlite3.Connection, account_id: int) -> list[MediaItem]:
    """The account's vault, oldest first."""
    rows = tx.execute(
        "SELECT id, title FROM vault WHERE account_id = ? ORDER BY id", (account_id,)
    ).fetchall()
    return [MediaItem(row["id"], row["title"]) for row in rows]


def unknown_media(tx: sqlite3.Connection, account_id: int, public_ids: Sequence[str]) -> str | None:
    """The first of `public_ids` that is not an item of the account's vault, if any."""
    owned = {item.public_id for item in vault_of(tx, account_id)}
    for public_id in public_ids:
        if parse_id(Kind.MEDIA, public_id) is None or public_id not in owned:
            return public_id
    return None
