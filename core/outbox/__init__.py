"""The outbox: every message on its way to a fan.

A send is made by the gate alone (`gate`), moves queued -> claimed -> typing -> submitted
-> delivered under its workers (`sends`), goes out one bulk send per account at a time
behind replies (`bulk`), and is held while its account needs a login (`holds`). A
campaign sends one message in variants to a segment's fans, at its time (`campaigns`).
"""

from core.outbox.bulk import (
    BulkCreated,
    BulkSkip,
    create_bulk_sends,
    release_next_bulk,
    release_next_bulks,
)
from core.outbox.gate import (
    Admitted,
    Override,
    SendRefused,
    SendRequest,
    SendSource,
    admit_send,
)
from core.outbox.holds import hold_for_login
from core.outbox.sends import (
    back_to_queue,
    cancel_send,
    claim_send,
    create_direct_send,
    defer_throttled,
    fail_attempt,
    get_send,
    list_sends,
    record_progress,
    record_result,
    requeue_sends,
)

__all__ = [
    "Admitted",
    "BulkCreated",
    "BulkSkip",
    "Override",
    "SendRefused",
    "SendRequest",
    "SendSource",
    "admit_send",
    "back_to_queue",
    "cancel_send",
    "claim_send",
    "create_bulk_sends",
    "create_direct_send",
    "defer_throttled",
    "fail_attempt",
    "get_send",
    "hold_for_login",
    "list_sends",
    "record_progress",
    "record_result",
    "release_next_bulk",
    "release_next_bulks",
    "requeue_sends",
]
