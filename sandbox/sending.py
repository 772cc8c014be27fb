"""The send path: pace check, delivery, and automation flags, in one transaction."""

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


@dataclass(frozen=True)
class Delivered:
    """The message went out; `flags` lists why it looked automated, if it did."""

    message: Message
    flags: list[Flag]


@dataclass(frozen=True)
class Refused:
    """The send came too soon after the account's previous one."""

    retry_after_s: float


def send(
    tx: sqlite3.Connection,
    guards: Guards,
    account: Account,
    conversation: Conversation,
    text: str,
    ppv_price_cents: int | None,
    cadence: list[CadenceEvent],
) -> Delivered | Refused:
    """Deliver a creator's message unless the account is sending too fast.

    Runs inside the caller's transaction, which holds the database lock, so two sends
    racing from one account cannot both pass the gap check.
    """
    now = time.time()
    last = tx.execute("SELECT last_send_ts FROM accounts WHERE id = ?", (account.id,)).fetchone()
    elapsed = None if last["last_send_ts"] is None else now - last["last_send_ts"]
    if elapsed is not None and elapsed < guards.send_gap_s:
        record_refusal(tx, account.id, conversation.id, SEND_GAP_REASON)
        return Refused(retry_after_s=guards.send_gap_s - elapsed)
    tx.execute("UPDATE accounts SET last_send_ts = ? WHERE id = ?", (now, account.id))
    message = insert_message(
        tx,
        conversation.id,
        "out",
        text,
        to_iso(datetime.fromtimestamp(now, UTC)),
        ppv_price_cents=ppv_price_cents,
        cadence_json=json.dumps([event.model_dump() for event in cadence]),
    )
    flags = assess(text, cadence, guards.max_graphemes_per_event)
    record_flags(tx, account.id, message, flags)
    return Delivered(message, flags)
