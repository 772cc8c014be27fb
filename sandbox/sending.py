"""The send path: pace checks, delivery, and automation flags, in one transaction."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.accounts import Account
from sandbox.audit import record_flags, record_refusal
from sandbox.cadence import CadenceEvent, Flag, assess
from sandbox.conversations import Conversation
from sandbox.guards import Guards
from sandbox.messages import Message, insert_message
from sandbox.timestamps import to_iso

SLOW_DOWN = "Slow down — you're sending messages too quickly"
SEND_GAP_REASON = "min_send_gap"
SEND_CAP_REASON = "hourly_send_cap"


@dataclass(frozen=True)
class Delivered:
    """The message went out; `flags` lists why it looked automated, if it did."""

    message: Message
    flags: list[Flag]


@dataclass(frozen=True)
class Refused:
    """The send came too soon after the account's previous one (`reason` says which
    limit it broke) and may be retried after `retry_after_s` seconds."""

    reason: str
    retry_after_s: float


def send(
    tx: sqlite3.Connection,
    guards: Guards,
    account: Account,
    conversation: Conversation,
    text: str,
    ppv_price_cents: int | None,
    cadence: list[CadenceEvent],
    media: tuple[str, ...] = (),
) -> Delivered | Refused:
    """Deliver a creator's message unless the account is sending too fast: sooner than
    the send gap after its previous send, or past its cap of sends in the (scaled) hour.

    Runs inside the caller's transaction, which holds the database lock, so two sends
    racing from one account cannot both pass the checks.
    """
    now = time.time()
    last = tx.execute("SELECT last_send_ts FROM accounts WHERE id = ?", (account.id,)).fetchone()
    elapsed = None if last["last_send_ts"] is None else now - last["last_send_ts"]
    if elapsed is not None and elapsed < guards.send_gap_s:
        record_refusal(tx, account.id, conversation.id, SEND_GAP_REASON)
        return Refused(SEND_GAP_REASON, guards.send_gap_s - elapsed)
    cap_wait_s = _send_cap_wait_s(tx, account.id, now, guards)
    if cap_wait_s is not None:
        record_refusal(tx, account.id, conversation.id, SEND_CAP_REASON)
        return Refused(SEND_CAP_REASON, cap_wait_s)
    tx.execute("UPDATE accounts SET last_send_ts = ? WHERE id = ?", (now, account.id))
    message = insert_message(
        tx,
        conversation.id,
        "out",
        text,
        to_iso(datetime.fromtimestamp(now, UTC)),
        ppv_price_cents=ppv_price_cents,
        cadence_json=json.dumps([event.model_dump() for event in cadence]),
        media=media,
    )
    flags = assess(text, cadence, guards)
    record_flags(tx, account.id, message, flags)
    return Delivered(message, flags)


def _send_cap_wait_s(
    tx: sqlite3.Connection, account_id: int, now: float, guards: Guards
) -> float | None:
    """None if the account may send once more within its hourly cap, else the seconds
    until its oldest counted send leaves the window."""
    since = to_iso(datetime.fromtimestamp(now - guards.send_window_s, UTC))
    # Stored times share one format, so comparing them as text compares them in time.
    recent = [
        row["sent_at"]
        for row in tx.execute(
            "SELECT m.sent_at FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE c.account_id = ? AND m.direction = 'out' AND m.sent_at > ?"
            " ORDER BY m.sent_at DESC LIMIT ?",
            (account_id, since, guards.hourly_send_cap),
        )
    ]
    if len(recent) < guards.hourly_send_cap:
        return None
    # The cap-th newest send is the one whose expiry makes room for another.
    oldest = datetime.fromisoformat(recent[-1]).timestamp()
    return max(0.0, oldest + guards.send_window_s - now)
