"""What browser workers and the control plane say to each other over HTTP.

Workers never open the database: they claim work, push scraped messages and report results
through `/v1/worker/*` with these bodies. Both sides import this module, so the contract
lives in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from core.bounds import MAX_INT32
from core.clock import in_window
from core.enums import Direction, SendStatus, SweepStatus
from core.platform.profiles import PacingOverrides

Count = Annotated[int, Field(ge=0, le=MAX_INT32)]
# A petabyte: past any process's memory, and exact as a JSON number (below 2**53).
MAX_BYTES = 2**50
# What a failed job kept (a screenshot, a trace), by kind: a few paths, never content.
Artifacts = Annotated[
    dict[
        Annotated[str, StringConstraints(max_length=100)],
        Annotated[str, StringConstraints(max_length=1000)],
    ],
    Field(max_length=20),
]
# A value that travels as a JSON string: an enum member or a time.
Loose = Field(strict=False)
PlatformTime = Annotated[datetime, Loose, AfterValidator(in_window)]


def _without_nul(value: Any) -> Any:
    # Whole floats (159.0) become ints too: JSON has one number type.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _examples(body: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [body]})


class _Body(BaseModel):
    # A NUL a platform printed is dropped, not refused: PostgreSQL cannot store it, and a
    # sweep must not fail on every run for one odd message.
    # JSON types only (no `0` for false, no `"5"` for a count); enums and times, which
    # arrive as strings, are marked `Loose`.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return _without_nul(data)


class AccountAccess(_Body):
    """What a worker needs to know of an account to take a job on it: where, through which
    profile, at what pace. Its secrets come apart (`AccountSecrets`), to the lease holder."""

    account_id: int
    profile: str
    base_url: str | None = None
    pacing: PacingOverrides = Field(
        default_factory=PacingOverrides,
        description="The account's own budgets, applied over its profile's defaults.",
    )


class AccountSecrets(_Body):
    """An account's credentials and saved browser session: handed only to the worker that
    holds the account's lease, for the job it runs."""

    username: str
    password: str
    storage_state: dict | None = None


class LeaseHolder(_Body):
    """The worker asking, which must hold the account's lease."""

    model_config = _examples({"worker_id": "host-1:4242:ab12"})
    worker_id: str = Field(min_length=1, max_length=200)


class SessionState(_Body):
    """Playwright `storage_state` of an account's browser context."""

    model_config = _examples({"storage_state": {"cookies": [], "origins": []}})

    storage_state: dict


class SweepStart(_Body):
    model_config = _examples({"worker_id": "host-1:4242:ab12"})
    worker_id: str = Field(min_length=1, max_length=200)


class SweepPlan(_Body):
    """A started sweep: the account, and the newest message time already known per
    conversation, so the worker opens only conversations with something new."""

    sweep_id: int
    account: AccountAccess
    known_last_message_at: dict[str, Annotated[datetime, Loose]] = Field(default_factory=dict)
    recheck: list[str] = Field(
        default_factory=list,
        description="Conversations to read whole again whatever the inbox shows: they hold "
        "a PPV offer still unpaid, which a fan may buy without writing.",
    )
    unpaid: dict[str, str] = Field(
        default_factory=dict,
        description="Unpaid PPV offers (platform message id: conversation id) to look for on "
        "the platform's purchases page; a thread whose offer was bought is read again.",
    )


class ScrapedMessage(_Body):
    platform_message_id: str = Field(min_length=1, max_length=200)
    direction: Annotated[Direction, Loose]
    text: str = Field(max_length=20000)
    sent_at: PlatformTime
    tip_cents: Count = 0
    ppv_price_cents: Count | None = None
    ppv_paid: bool | None = None


class ScrapedConversation(_Body):
    platform_conversation_id: str = Field(min_length=1, max_length=200)
    platform_fan_id: str = Field(min_length=1, max_length=200)
    fan_name: str = Field(default="", max_length=200)
    fan_handle: str | None = Field(
        default=None,
        max_length=200,
        description="The fan's @handle (without the @), where the platform shows one.",
    )
    messages: list[ScrapedMessage] = Field(default_factory=list, max_length=1000)


class IngestBatch(_Body):
    model_config = _examples(
        {
            "account_id": 1,
            "sweep_id": 3,
            "conversations": [
                {
                    "platform_conversation_id": "c12",
                    "platform_fan_id": "f7",
                    "fan_name": "Jane",
                    "messages": [
                        {
                            "platform_message_id": "m40",
                            "direction": "inbound",
                            "text": "hey you 😊",
                            "sent_at": "2026-12-01T10:00:00+00:00",
                            "tip_cents": 500,
                        }
                    ],
                }
            ],
        }
    )
    account_id: int = Field(ge=1, le=MAX_INT32)
    sweep_id: int | None = Field(default=None, ge=1, le=MAX_INT32)
    conversations: list[ScrapedConversation] = Field(min_length=1, max_length=200)


class IngestResult(_Body):
    inserted: int
    duplicates: int
    drafts_queued: int


class SweepResult(_Body):
    model_config = _examples({"status": "done", "messages_found": 12, "conversations_read": 4})
    status: SweepStatus = Field(strict=False, description="done or failed")
    messages_found: Count = Field(
        default=0,
        description="Messages this attempt read; audited. The sweep's own count is what "
        "ingest stored for it, over every attempt.",
    )
    conversations_read: Count = 0
    error: str | None = Field(default=None, max_length=4000)
    artifacts: Artifacts = Field(default_factory=dict)


class SendClaim(_Body):
    model_config = _examples({"worker_id": "host-1:4242:ab12", "attempt": 1})
    worker_id: str = Field(min_length=1, max_length=200)
    attempt: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INT32,
        description="The attempt the claiming job was queued for; a job of an attempt that "
        "is over (the send was queued again meanwhile) is refused.",
    )


class SendTicket(_Body):
    """A claimed send. `verify` is true when an earlier attempt may already have typed it:
    the worker must read the thread for `text` before typing again."""

    send_id: int
    account: AccountAccess
    platform_conversation_id: str
    text: str
    ppv_price_cents: int | None = None
    media: list[str] = Field(default_factory=list, description="Vault ids to attach, in order.")
    attempt: int
    claimed_at: Annotated[datetime, Loose]
    verify: bool = False
    inbound_chars: int = Field(
        default=0, ge=0, description="Length of the fan message it answers: reading takes time."
    )
    typing_started_at: Annotated[datetime, Loose] | None = Field(
        default=None,
        description="When an earlier attempt started typing it: where verification looks from.",
    )


class SendProgress(_Body):
    model_config = _examples({"worker_id": "host-1:4242:ab12", "status": "typing"})
    worker_id: str = Field(min_length=1, max_length=200)
    status: SendStatus = Field(strict=False, description="typing or submitted")


class SendResult(_Body):
    model_config = _examples(
        {"worker_id": "host-1:4242:ab12", "status": "delivered", "platform_message_id": "m41"}
    )
    worker_id: str = Field(min_length=1, max_length=200)
    status: SendStatus = Field(strict=False, description="delivered or failed")
    platform_message_id: str | None = Field(default=None, max_length=200)
    error: str | None = Field(default=None, max_length=4000)
    retryable: bool = False
    artifacts: Artifacts = Field(default_factory=dict)


class WorkerHeartbeat(_Body):
    """What a browser worker reports every few seconds: who and where it is, what it is
    doing, and how much memory it and its Chromium use."""

    model_config = _examples(
        {
            "worker_id": "host-1:4242:ab12",
            "host": "host-1",
            "pid": 4242,
            "current_job": "send-9-a1",
            "account_id": 1,
            "jobs_done": 12,
            "rss_bytes": 83886080,
            "chromium_rss_bytes": 314572800,
        }
    )

    worker_id: str = Field(min_length=1, max_length=200)
    host: str = Field(min_length=1, max_length=255)
    pid: int = Field(ge=1, le=MAX_INT32)
    current_job: str | None = Field(default=None, max_length=200)
    account_id: int | None = Field(default=None, ge=1, le=MAX_INT32)
    jobs_done: Count = 0
    rss_bytes: int = Field(ge=0, le=MAX_BYTES, description="Resident memory of the worker process.")
    chromium_rss_bytes: int = Field(
        default=0, ge=0, le=MAX_BYTES, description="Resident memory of its Chromium processes."
    )


class ThrottleReport(_Body):
    """The platform said "slow down" during a send or a sweep: nothing was sent, the worker
    backed the account off for `backoff_s` (real seconds), and this was signal number
    `signals_in_window` within the profile's throttle window."""

    model_config = _examples(
        {"worker_id": "host-1:4242:ab12", "signal": "429", "backoff_s": 60, "signals_in_window": 1}
    )

    worker_id: str = Field(min_length=1, max_length=200)
    signal: str = Field(min_length=1, max_length=200, description="What the platform showed.")
    backoff_s: float = Field(ge=0, le=7 * 86400)
    signals_in_window: int = Field(ge=1, le=10_000)


class LoginRejected(_Body):
    """The platform rejected the account's credentials while a worker ran a send or a
    sweep: the account needs a login from an operator, and that job is held, not failed."""

    model_config = _examples({"worker_id": "host-1:4242:ab12", "send_id": 9})

    worker_id: str = Field(min_length=1, max_length=200)
    send_id: int | None = Field(default=None, ge=1, le=MAX_INT32)
    sweep_id: int | None = Field(default=None, ge=1, le=MAX_INT32)
    artifacts: Artifacts = Field(default_factory=dict)
