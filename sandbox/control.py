"""The control API: seeding and inspecting the sandbox, for the demo and tests only.

Mounted only when `SandboxConfig.control_enabled`; otherwise every path answers 404.
Bodies are JSON; invalid input answers 422 (field errors) and unknown names 404, each
with a `detail` message. Accounts are addressed by username, everything else by the
public ids the pages show (`f7`, `c12`, `m42`).

Endpoints (request body, then response):

- `GET /_control/platform` -> {skin, timezone, login_path, home_path, thread_path}: which
  platform this sandbox is.
- `POST /_control/accounts` {username, password, display_name?}
  -> 201 {username, display_name, login}: create a creator account; `login` is the name
  it signs in with here (the username on fanbox, its email on velvet).
- `GET /_control/accounts/{username}` -> {username, display_name, logins}: how many
  times the account has logged in.
- `POST /_control/accounts/{username}/fans` {name}
  -> 201 {fan_id, conversation_id, name}: add a fan and their conversation.
- `POST /_control/accounts/{username}/fans/{fan_id}/messages` {text, sent_at?}
  -> 201 {message_id, conversation_id, sent_at}: the fan writes to the creator.
- `POST /_control/accounts/{username}/fans/{fan_id}/tips` {amount_cents, text?, sent_at?}
  -> 201 {message_id, conversation_id, sent_at}: the fan tips (an inbound message).
- `POST /_control/accounts/{username}/vault` {title} -> 201 {media_id, title}: put an
  item in the account's vault.
- `POST /_control/accounts/{username}/fans/{fan_id}/offers` {text, price_cents, sent_at?}
  -> 201 {message_id, conversation_id, sent_at}: the creator sent a PPV in the web UI.
- `DELETE /_control/accounts/{username}/sessions`
  -> {expired}: end every session of the account (expiry, remote logout).
- `POST /_control/messages/{message_id}/purchase`
  -> {message_id, ppv_price_cents, ppv_paid}: the fan buys a PPV message (409 if not PPV
  or already paid).
- `GET /_control/accounts/{username}/messages` -> [{message_id, conversation_id,
  direction, text, sent_at, tip_cents, ppv_price_cents, ppv_paid}]: every message of the
  account, by conversation, oldest first (what a scrape is checked against).
- `GET /_control/delivered?account=` -> [{message_id, account, conversation_id, fan_id,
  text, sent_at, ppv_price_cents, ppv_paid, media, cadence, flagged, flag_reasons}]: outbound
  messages in delivery order.
- `GET /_control/flags?account=` -> [{id, account, conversation_id, message_id, reason,
  detail, created_at}]: automation flags.
- `GET /_control/refusals?account=` -> [{id, account, conversation_id, reason,
  created_at}]: refused sends (reason `min_send_gap` or `hourly_send_cap`) and refused
  requests (reason `actions_per_minute`, conversation_id null).
- `GET /_control/guards`, `PUT /_control/guards` {min_send_gap_s?, hourly_send_cap?,
  actions_per_minute?, max_graphemes_per_event?, max_chars_per_s?, min_interval_cv?,
  min_intervals?} -> those settings plus {time_scale, effective_send_gap_s,
  effective_send_window_s, effective_action_window_s}.
- `POST /_control/reset` -> 204: wipe all data, forget request counts and restore the
  config's guards.

`sent_at` is an ISO-8601 time with a timezone (default: now). `min_send_gap_s` is in
human seconds like the config's, so the enforced gap is it times `time_scale`; the caps'
hour and minute are scaled the same way, and `max_chars_per_s` is per human second.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from loguru import logger
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sandbox import audit
from sandbox.accounts import Account, create_account, email_of, login_count, require_account
from sandbox.conversations import Conversation, create_fan, require_fan_conversation
from sandbox.guards import ActionCounter, Guards
from sandbox.messages import MAX_TEXT, Message, insert_message, purchase
from sandbox.passwords import hash_password
from sandbox.sessions import end_account_sessions
from sandbox.state import state_of
from sandbox.timestamps import now_iso, to_iso
from sandbox.vault import add_media

router = APIRouter(prefix="/_control")

AccountFilter = Annotated[str | None, Query(description="Only this account's records.")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountIn(_Input):
    """A creator account to create."""

    username: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,32}$")
    password: str = Field(min_length=1, max_length=128)
    display_name: str | None = Field(default=None, min_length=1, max_length=64)


class AccountOut(BaseModel):
    """A created account and the name it signs in with on this platform."""

    username: str
    display_name: str
    login: str


class AccountDetail(AccountOut):
    """An account with its login history."""

    logins: int


class FanIn(_Input):
    """A fan to add to an account."""

    name: str = Field(min_length=1, max_length=64)


class FanOut(BaseModel):
    """A created fan and their conversation with the account."""

    fan_id: str
    conversation_id: str
    name: str


class InboundIn(_Input):
    """A message from a fan to the creator."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    sent_at: AwareDatetime | None = None


class TipIn(_Input):
    """A tip from a fan, optionally with a note."""

    amount_cents: int = Field(ge=1, le=1_000_000)
    text: str = Field(default="", max_length=MAX_TEXT)
    sent_at: AwareDatetime | None = None


class OfferIn(_Input):
    """A PPV message the creator sent from the platform's own composer."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    price_cents: int = Field(ge=100, le=100_000)
    sent_at: AwareDatetime | None = None


class InjectedOut(BaseModel):
    """Where an injected message landed."""

    message_id: str
    conversation_id: str
    sent_at: str


class PurchaseOut(BaseModel):
    """A PPV message after the fan bought it."""

    message_id: str
    ppv_price_cents: int | None
    ppv_paid: bool | None


class PlatformOut(BaseModel):
    """Which platform this sandbox serves."""

    skin: str
    timezone: str
    login_path: str
    home_path: str
    thread_path: str


class MediaIn(_Input):
    """A vault item to add."""

    title: str = Field(min_length=1, max_length=120)


class MediaOut(BaseModel):
    """A vault item."""

    media_id: str
    title: str


class ExpiredOut(BaseModel):
    """How many sessions were ended."""

    expired: int


class GuardsIn(_Input):
    """New guard settings; omitted ones stay as they are."""

    min_send_gap_s: float | None = Field(default=None, ge=0)
    hourly_send_cap: int | None = Field(default=None, ge=1)
    actions_per_minute: int | None = Field(default=None, ge=1)
    max_graphemes_per_event: int | None = Field(default=None, ge=1)
    max_chars_per_s: float | None = Field(default=None, gt=0)
    min_interval_cv: float | None = Field(default=None, ge=0)
    min_intervals: int | None = Field(default=None, ge=1)


class GuardsOut(BaseModel):
    """The guard settings in force, and the wall-clock windows they come to."""

    time_scale: float
    min_send_gap_s: float
    hourly_send_cap: int
    actions_per_minute: int
    max_graphemes_per_event: int
    max_chars_per_s: float
    min_interval_cv: float
    min_intervals: int
    effective_send_gap_s: float
    effective_send_window_s: float
    effective_action_window_s: float

    @classmethod
    def of(cls, guards: Guards) -> GuardsOut:
        """The public shape of the guards."""
        return cls(
            **asdict(guards),
            effective_send_gap_s=guards.send_gap_s,
            effective_send_window_s=guards.send_window_s,
            effective_action_window_s=guards.action_window_s,
        )


@router.post("/accounts", status_code=201)
def post_account(request: Request, body: AccountIn) -> AccountOut:
    """Create a creator account."""
    password_hash = hash_password(body.password)
    with state_of(request).db.transaction() as tx:
        account = create_account(
            tx, body.username, password_hash, body.display_name or body.username
        )
    logger.info("control: created account {}", account.username)
    return _account_out(request, account)


def _account_out(request: Request, account: Account) -> AccountOut:
    velvet = state_of(request).config.skin == "velvet"
    return AccountOut(
        username=account.username,
        display_name=account.display_name,
        login=email_of(account.username) if velvet else account.username,
    )


@router.get("/platform")
def get_platform(request: Request) -> PlatformOut:
    """Which platform this sandbox is, and where its pages are."""
    config = state_of(request).config
    return PlatformOut(
        skin=config.skin,
        timezone=config.timezone if config.skin == "velvet" else "UTC",
        login_path=config.login_path,
        home_path=config.home_path,
        thread_path=config.thread_path,
    )


@router.post("/accounts/{username}/vault", status_code=201)
def post_media(request: Request, username: str, body: MediaIn) -> MediaOut:
    """Put an item in the account's vault."""
    with state_of(request).db.transaction() as tx:
        item = add_media(tx, require_account(tx, username).id, body.title)
    return MediaOut(media_id=item.public_id, title=item.title)


@router.get("/accounts/{username}")
def get_account(request: Request, username: str) -> AccountDetail:
    """An account and how many times it has logged in."""
    with state_of(request).db.transaction() as tx:
        account = require_account(tx, username)
        logins = login_count(tx, account.id)
    return AccountDetail(**_account_out(request, account).model_dump(), logins=logins)


@router.post("/accounts/{username}/fans", status_code=201)
def post_fan(request: Request, username: str, body: FanIn) -> FanOut:
    """Add a fan (and their conversation) to an account."""
    with state_of(request).db.transaction() as tx:
        account = require_account(tx, username)
        conversation = create_fan(tx, account.id, body.name)
    return FanOut(
        fan_id=conversation.public_fan_id,
        conversation_id=conversation.public_id,
        name=conversation.fan_name,
    )


@router.post("/accounts/{username}/fans/{fan_id}/messages", status_code=201)
def post_inbound(request: Request, username: str, fan_id: str, body: InboundIn) -> InjectedOut:
    """A fan writes to the creator."""
    with state_of(request).db.transaction() as tx:
        conversation = _fan_conversation(tx, username, fan_id)
        message = insert_message(tx, conversation.id, "in", body.text, _when(body.sent_at))
    return _injected(conversation, message)


@router.post("/accounts/{username}/fans/{fan_id}/tips", status_code=201)
def post_tip(request: Request, username: str, fan_id: str, body: TipIn) -> InjectedOut:
    """A fan tips the creator."""
    with state_of(request).db.transaction() as tx:
        conversation = _fan_conversation(tx, username, fan_id)
        message = insert_message(
            tx, conversation.id, "in", body.text, _when(body.sent_at), tip_cents=body.amount_cents
        )
    return _injected(conversation, message)


@router.post("/accounts/{username}/fans/{fan_id}/offers", status_code=201)
def post_offer(request: Request, username: str, fan_id: str, body: OfferIn) -> InjectedOut:
    """The creator sends the fan a PPV offer outside the fleet (in the web UI)."""
    with state_of(request).db.transaction() as tx:
        conversation = _fan_conversation(tx, username, fan_id)
        message = insert_message(
            tx,
            conversation.id,
            "out",
            body.text,
            _when(body.sent_at),
            ppv_price_cents=body.price_cents,
        )
    return _injected(conversation, message)


@router.delete("/accounts/{username}/sessions")
def delete_sessions(request: Request, username: str) -> ExpiredOut:
    """End every session of the account, as an expiry or a remote logout would."""
    with state_of(request).db.transaction() as tx:
        expired = end_account_sessions(tx, require_account(tx, username).id)
    logger.info("control: ended {} session(s) of {}", expired, username)
    return ExpiredOut(expired=expired)


@router.post("/messages/{message_id}/purchase")
def post_purchase(request: Request, message_id: str) -> PurchaseOut:
    """The fan buys a PPV message."""
    with state_of(request).db.transaction() as tx:
        message = purchase(tx, message_id)
    return PurchaseOut(
        message_id=message.public_id,
        ppv_price_cents=message.ppv_price_cents,
        ppv_paid=message.ppv_paid,
    )


@router.get("/accounts/{username}/messages")
def get_messages(request: Request, username: str) -> list[audit.MessageRecord]:
    """Every message of the account, by conversation, oldest first: the platform's own
    record, which a scrape is checked against."""
    with state_of(request).db.transaction() as tx:
        require_account(tx, username)
        return audit.account_messages(tx, username)


@router.get("/delivered")
def get_delivered(request: Request, account: AccountFilter = None) -> list[audit.DeliveredMessage]:
    """Outbound messages in delivery order, with their cadence and flags."""
    with state_of(request).db.transaction() as tx:
        return audit.delivered(tx, account)


@router.get("/flags")
def get_flags(request: Request, account: AccountFilter = None) -> list[audit.FlagRecord]:
    """Automation flags, oldest first."""
    with state_of(request).db.transaction() as tx:
        return audit.flags(tx, account)


@router.get("/refusals")
def get_refusals(request: Request, account: AccountFilter = None) -> list[audit.RefusalRecord]:
    """Refused sends, oldest first."""
    with state_of(request).db.transaction() as tx:
        return audit.refusals(tx, account)


@router.get("/guards")
def get_guards(request: Request) -> GuardsOut:
    """The guard settings in force."""
    return GuardsOut.of(state_of(request).guards)


@router.put("/guards")
def put_guards(request: Request, body: GuardsIn) -> GuardsOut:
    """Change guard settings until the next reset."""
    state = state_of(request)
    state.guards = replace(state.guards, **body.model_dump(exclude_none=True))
    return GuardsOut.of(state.guards)


@router.post("/reset", status_code=204)
def post_reset(request: Request) -> Response:
    """Wipe every account, message and record; restore the config's guard settings."""
    state = state_of(request)
    state.db.wipe()
    state.guards = Guards.from_config(state.config)
    state.actions = ActionCounter()
    logger.info("control: reset")
    return Response(status_code=204)


def _fan_conversation(tx: sqlite3.Connection, username: str, fan_id: str) -> Conversation:
    return require_fan_conversation(tx, require_account(tx, username).id, fan_id)


def _when(sent_at: datetime | None) -> str:
    return to_iso(sent_at) if sent_at is not None else now_iso()


def _injected(conversation: Conversation, message: Message) -> InjectedOut:
    return InjectedOut(
        message_id=message.public_id,
        conversation_id=conversation.public_id,
        sent_at=message.sent_at,
    )
