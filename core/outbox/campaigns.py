"""Campaigns: one message, in one or more variants, to a segment's fans or to a list of
fans, now, at a set time, or at a wall-clock time in each account's own time zone.

A campaign is a row first (`scheduled`). At its time (`launch_due_campaigns`, run by the
scheduler; at once when created for now) it is launched, set-based:

- its fans are read in one query (the segment's filter, or the list, without erased fans),
  and each fan's newest conversation in one more;
- each fan gets a variant by their id, stably, in the variants' shares (an A/B split that
  does not move if the campaign is relaunched or read again);
- every send passes the one gate (`core.outbox.gate.admit_many`: the fans read once for
  the whole campaign); a fan the gate refuses, or with no conversation, is skipped and
  counted by reason on its variant;
- the sends are bulk sends: released one per account at a time, after any waiting reply
  (`core.outbox.bulk`), so a campaign never holds a fan's reply back.

In account time (`local_send_at`, "20:00 on Friday"), the campaign is launched once per
zone: at each scheduler tick, to the accounts whose clocks have come to its time since the
last (`Account.time_zone`), from the first zone on earth to reach it (UTC+14) to the last
(UTC-12). It runs from its first launch and is `launched_at` its last.

A campaign that cannot launch (its segment deleted, its filter no longer valid) says why
(`failure`, `launch_or_fail`), once, and shows under `GET /v1/fleet`: it is `failed` if no
account was reached yet; midway through its zones it goes on for the accounts it reached
and reaches no more. The other campaigns due still go.

Pausing holds the sends not yet released (the one already out per account finishes);
resuming releases again; cancelling calls off every send not yet being typed. A campaign's
record (`campaign_results`) counts per variant what was targeted, queued, in flight, sent,
failed, cancelled and skipped (with reasons), and the PPV purchases and revenue it brought.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loguru import logger
from redis import Redis
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core import audit
from core.clock import AHEAD_OF_UTC, BEHIND_UTC, at_wall_clock, utcnow
from core.crm import FanFilter, account_zone, segment_filter, select_fans
from core.crm.fans import CONVERSATION_COLUMNS, ConversationColumns
from core.db import one_of
from core.enums import ON_ITS_WAY, CampaignStatus, SendStatus
from core.errors import DomainError, InvalidState, NotFound, get_or_raise
from core.models import (
    MESSAGE_IS_PURCHASE,
    Account,
    Campaign,
    CampaignVariant,
    Conversation,
    Fan,
    Message,
    Segment,
    Send,
)
from core.outbox.bulk import release_next_bulks
from core.outbox.gate import SendRefused, SendRequest, SendSource, admit_many
from core.paging import Page, SortKey, paginate
from core.settings import Settings

MAX_VARIANTS = 5
# A list of fans is for a handful picked by hand; a segment is for thousands.
MAX_LISTED_FANS = 10_000
NO_CONVERSATION = "crm:no_conversation"
# Knuth's multiplicative hash: consecutive fan ids land far apart in the 100 buckets.
_SPREAD = 2654435761
_CANCELLABLE = (SendStatus.queued, SendStatus.claimed)


@dataclass(frozen=True)
class VariantSpec:
    """A variant to create: its name, message and share (percent of the fans)."""

    name: str
    text: str
    share: int
    ppv_price_cents: int | None = None
    media: tuple[str, ...] = ()


@dataclass
class VariantResult:
    """What became of one variant's fans."""

    variant: CampaignVariant
    queued: int = 0
    in_flight: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    purchases: int = 0
    revenue_cents: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def bucket_of(fan_id: int) -> int:
    """The fan's place (0-99) in every campaign's split."""
    return (fan_id * _SPREAD) % 2**32 % 100


def variant_for(fan_id: int, variants: Sequence[CampaignVariant]) -> CampaignVariant:
    """The variant the fan gets: the one whose share covers their bucket."""
    bucket, edge = bucket_of(fan_id), 0
    for variant in variants:
        edge += variant.share
        if bucket < edge:
            return variant
    return variants[-1]


def create_campaign(
    session: Session,
    redis: Redis,
    settings: Settings,
    *,
    name: str,
    variants: Sequence[VariantSpec],
    actor: str,
    segment_id: int | None = None,
    fan_ids: Sequence[int] = (),
    send_at: datetime | None = None,
    local_send_at: datetime | None = None,
) -> Campaign:
    """Create a campaign and commit it; launch it at once when `send_at` is now or past
    (default: now). With `local_send_at` (a wall-clock time, no offset) instead, each
    account's fans get it when the account's clocks read that time (`launch_campaign`).
    `InvalidState` for a campaign with no audience or both, both times, variants whose
    shares do not add up to 100, or a segment whose filter no longer holds."""
    if (segment_id is None) == (not fan_ids):
        raise InvalidState("a campaign goes to a segment_id or to fan_ids, one of them")
    if send_at is not None and local_send_at is not None:
        raise InvalidState("a campaign goes at a send_at or at a local_send_at, one of them")
    if local_send_at is not None and local_send_at.tzinfo is not None:
        raise InvalidState("local_send_at is a wall-clock time: give it without an offset")
    if not 1 <= len(variants) <= MAX_VARIANTS:
        raise InvalidState(f"a campaign has 1 to {MAX_VARIANTS} variants")
    if sum(v.share for v in variants) != 100:
        raise InvalidState("the variants' shares must add up to 100")
    if len({v.name for v in variants}) != len(variants):
        raise InvalidState("each variant needs its own name")
    if segment_id is not None:
        segment_filter(get_or_raise(session, Segment, segment_id))
    now = utcnow()
    if local_send_at is not None:
        # A clock's reading to the second, as it is stored.
        local_send_at = local_send_at.replace(microsecond=0)
        # The first place on earth whose clocks reach it; each account then at its own.
        send_at = (local_send_at - AHEAD_OF_UTC).replace(tzinfo=UTC)
    campaign = Campaign(
        name=name,
        status=CampaignStatus.scheduled,
        segment_id=segment_id,
        fan_ids=list(dict.fromkeys(fan_ids)),
        send_at=send_at or now,
        local_send_at=None if local_send_at is None else local_send_at.isoformat("T", "seconds"),
        launched_accounts=[],
        created_by=actor,
        variants=[
            CampaignVariant(
                name=v.name,
                text=v.text,
                ppv_price_cents=v.ppv_price_cents,
                media=list(v.media),
                share=v.share,
                targeted=0,
                skipped={},
            )
            for v in variants
        ],
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        actor,
        "campaign.created",
        "campaign",
        campaign.id,
        segment_id=segment_id,
        fans_listed=len(campaign.fan_ids),
        variants=[v.name for v in variants],
        send_at=campaign.send_at.isoformat(),
        local_send_at=campaign.local_send_at,
    )
    session.commit()
    if _due(session, campaign, now):
        return launch_or_fail(session, redis, settings, campaign.id, actor=actor, now=now)
    return campaign


def _audience(session: Session, campaign: Campaign, accounts: Sequence[int] | None) -> list[int]:
    """The campaign's fans now (of `accounts` only, unless None), in one query: its
    segment's, or its list without the erased. `InvalidState` when its segment was
    deleted."""
    if campaign.segment_id is not None:
        segment = get_or_raise(session, Segment, campaign.segment_id)
        fans = select_fans(session, segment_filter(segment)).with_only_columns(Fan.id)
    elif campaign.fan_ids:
        fans = select_fans(session, FanFilter()).with_only_columns(Fan.id)
        fans = fans.where(one_of(session, Fan.id, campaign.fan_ids))
    else:
        raise InvalidState(f"campaign {campaign.id}'s segment was deleted")
    if accounts is not None:
        fans = fans.where(one_of(session, Fan.account_id, accounts))
    return list(session.scalars(fans.order_by(Fan.id)))


@dataclass(frozen=True)
class _Reach:
    """The accounts a launch reaches (None: every one), and whether it is the last."""

    accounts: list[int] | None
    complete: bool

    @property
    def empty(self) -> bool:
        """Whether the launch would change nothing: no account to reach, some still to
        wait for."""
        return self.accounts == [] and not self.complete


def _reach(session: Session, campaign: Campaign, now: datetime) -> _Reach:
    """Whom a launch at `now` reaches: every account at once, or, in account time, the
    accounts not yet reached whose clocks have come to the campaign's time; the last
    launch is the one after which no account is left to reach."""
    if campaign.local_send_at is None:
        return _Reach(None, complete=True)
    wall = datetime.fromisoformat(campaign.local_send_at)
    done = set(campaign.launched_accounts)
    due, waiting = [], 0
    for account_id, time_zone in session.execute(select(Account.id, Account.time_zone)):
        if account_id in done:
            continue
        if at_wall_clock(wall, account_zone(time_zone)) <= now:
            due.append(account_id)
        else:
            waiting += 1
    return _Reach(due, complete=waiting == 0)


def _newest_conversations(
    session: Session, fan_ids: Sequence[int]
) -> dict[int, ConversationColumns]:
    """Each fan's most recently active conversation, in one query: a row of the columns
    the gate reads (its ids and standing flag; the gate reads the accounts, few, in one
    query of its own). Rows, not objects: the ORM's identity map and per-object state are
    ten objects a conversation for the garbage collector to walk, thousands of times
    over."""
    newest: dict[int, ConversationColumns] = {}
    for conversation in session.execute(
        select(*CONVERSATION_COLUMNS)
        .where(one_of(session, Conversation.fan_id, fan_ids))
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
    ):
        newest.setdefault(conversation.fan_id, conversation)
    return newest


def _due(session: Session, campaign: Campaign, now: datetime) -> bool:
    """Whether a launch at `now` has accounts to reach: the campaign's time has come, and
    in account time, some account's clocks have come to it since the last launch (or
    none is left to wait for)."""
    if campaign.send_at > now or not _still_launching(campaign):
        return False
    return not _reach(session, campaign, now).empty


# In SQL, what `_still_launching` says of a row.
_LAUNCHING = or_(
    Campaign.status == CampaignStatus.scheduled,
    and_(
        Campaign.local_send_at.is_not(None),
        Campaign.launched_at.is_(None),
        Campaign.status.in_((CampaignStatus.running, CampaignStatus.paused)),
    ),
)


def _still_launching(campaign: Campaign) -> bool:
    """Whether the campaign has accounts left to reach: one not launched yet, or one in
    account time some of whose accounts' clocks have not come to its time."""
    if campaign.status == CampaignStatus.scheduled:
        return True
    return (
        campaign.local_send_at is not None
        and campaign.launched_at is None
        and campaign.status in (CampaignStatus.running, CampaignStatus.paused)
    )


def launch_campaign(
    session: Session,
    redis: Redis,
    settings: Settings,
    campaign_id: int,
    *,
    actor: str,
    now: datetime | None = None,
) -> Campaign:
    """Send a due campaign (see the module doc) to the accounts its time has come for, and
    commit; release the first send of each account it reaches. A campaign in account
    time is launched once per zone as each zone's clocks come to its time: it runs from
    the first and is `launched_at` the last."""
    campaign = get_or_raise(session, Campaign, campaign_id, for_update=True)
    if not _still_launching(campaign):
        raise InvalidState(f"campaign {campaign.id} is {campaign.status.value}, not scheduled")
    now = now or utcnow()
    reach = _reach(session, campaign, now)
    if reach.empty:
        # Another launcher reached this zone first: nothing new to send, nothing to audit.
        session.rollback()
        return campaign
    fan_ids = [] if reach.accounts == [] else _audience(session, campaign, reach.accounts)
    conversations = _newest_conversations(session, fan_ids)
    requests: list[SendRequest] = []
    skipped: dict[int, Counter[str]] = {v.id: Counter(v.skipped) for v in campaign.variants}
    targeted: Counter[int] = Counter({v.id: v.targeted for v in campaign.variants})
    for fan_id in fan_ids:
        variant = variant_for(fan_id, campaign.variants)
        targeted[variant.id] += 1
        conversation = conversations.get(fan_id)
        if conversation is None:
            skipped[variant.id][NO_CONVERSATION] += 1
            continue
        requests.append(
            SendRequest(
                conversation=conversation,
                text=variant.text,
                source=SendSource.bulk,
                actor=actor,
                ppv_price_cents=variant.ppv_price_cents,
                media=tuple(variant.media),
                campaign_variant_id=variant.id,
            )
        )
    accounts: set[int] = set()
    sends = 0
    for request, result in zip(
        requests, admit_many(session, settings, requests, now=now), strict=True
    ):
        if isinstance(result, SendRefused):
            skipped[request.campaign_variant_id or 0].update(result.reasons)
        else:
            sends += 1
            accounts.add(result.account_id)
    for variant in campaign.variants:
        variant.targeted = targeted[variant.id]
        variant.skipped = dict(sorted(skipped[variant.id].items()))
    if campaign.status == CampaignStatus.scheduled:
        campaign.status = CampaignStatus.running
    if reach.accounts is not None:
        campaign.launched_accounts = sorted({*campaign.launched_accounts, *reach.accounts})
    if reach.complete:
        campaign.launched_at = now
    audit.record(
        session,
        actor,
        "campaign.launched",
        "campaign",
        campaign.id,
        targeted=len(fan_ids),
        sends=sends,
        accounts=reach.accounts,
        complete=reach.complete,
    )
    session.commit()
    release_next_bulks(session, redis, settings, accounts)
    return campaign


def launch_or_fail(
    session: Session,
    redis: Redis,
    settings: Settings,
    campaign_id: int,
    *,
    actor: str,
    now: datetime | None = None,
) -> Campaign:
    """`launch_campaign`, and when the domain refuses it (its segment deleted, or its
    filter no longer holding), the campaign's `failure` with the reason, audited and
    committed, once, instead of being tried again at every tick: a campaign not launched
    yet is `failed`; one midway through its zones keeps what it sent to the accounts it
    reached and reaches no more (it is `launched_at` then). A campaign no longer launching
    by the time it is read again (cancelled, or launched by another caller) is left as it
    is."""
    try:
        return launch_campaign(session, redis, settings, campaign_id, actor=actor, now=now)
    except DomainError as exc:
        session.rollback()
        campaign = get_or_raise(session, Campaign, campaign_id, for_update=True)
        if not _still_launching(campaign):
            session.rollback()
            return campaign
        now = now or utcnow()
        if campaign.status == CampaignStatus.scheduled:
            campaign.status = CampaignStatus.failed
        else:
            campaign.launched_at = now
        campaign.failure = str(exc)
        campaign.failed_at = now
        audit.record(session, actor, "campaign.failed", "campaign", campaign.id, reason=str(exc))
        session.commit()
        logger.bind(campaign_id=campaign.id).warning("campaign failed to launch")
        return campaign


def launch_due_campaigns(
    session: Session,
    redis: Redis,
    settings: Settings,
    *,
    actor: str,
    now: datetime | None = None,
) -> int:
    """Launch every campaign whose time has come by `now` (default: the current time), and
    each zone of those in account time whose clocks have come to it since the last tick;
    how many campaigns it launched to some account (or that failed). One that cannot
    launch fails (`launch_or_fail`) and the others still go."""
    now = now or utcnow()
    candidates = session.scalars(
        select(Campaign).where(Campaign.send_at <= now, _LAUNCHING).order_by(Campaign.id)
    ).all()
    due = [campaign.id for campaign in candidates if _due(session, campaign, now)]
    session.rollback()
    for campaign_id in due:
        launch_or_fail(session, redis, settings, campaign_id, actor=actor, now=now)
    return len(due)


def _accounts_of(session: Session, campaign_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Send.account_id)
            .join(CampaignVariant, CampaignVariant.id == Send.campaign_variant_id)
            .where(CampaignVariant.campaign_id == campaign_id, Send.status == SendStatus.queued)
            .distinct()
        )
    )


def _move(
    session: Session,
    campaign_id: int,
    allowed: tuple[CampaignStatus, ...],
    to: CampaignStatus,
    actor: str,
) -> Campaign:
    campaign = get_or_raise(session, Campaign, campaign_id, for_update=True)
    if campaign.status not in allowed:
        raise InvalidState(
            f"campaign {campaign.id} is {campaign.status.value}; it cannot be {to.value}"
        )
    campaign.status = to
    audit.record(session, actor, f"campaign.{to.value}", "campaign", campaign.id)
    return campaign


def pause_campaign(session: Session, campaign_id: int, *, actor: str) -> Campaign:
    """Hold the campaign's sends not yet released, and commit."""
    campaign = _move(session, campaign_id, (CampaignStatus.running,), CampaignStatus.paused, actor)
    session.commit()
    return campaign


def resume_campaign(
    session: Session, redis: Redis, settings: Settings, campaign_id: int, *, actor: str
) -> Campaign:
    """Let a paused campaign's sends go again, and commit."""
    campaign = _move(session, campaign_id, (CampaignStatus.paused,), CampaignStatus.running, actor)
    session.commit()
    release_next_bulks(session, redis, settings, _accounts_of(session, campaign_id))
    return campaign


def cancel_campaign(
    session: Session, redis: Redis, settings: Settings, campaign_id: int, *, actor: str
) -> Campaign:
    """Call off the campaign: every send of it not yet being typed is cancelled (a worker
    holding one is refused at its next report, before a keystroke), and commit."""
    accounts = _accounts_of(session, campaign_id)
    campaign = _move(
        session,
        campaign_id,
        (CampaignStatus.scheduled, CampaignStatus.running, CampaignStatus.paused),
        CampaignStatus.cancelled,
        actor,
    )
    variants = select(CampaignVariant.id).where(CampaignVariant.campaign_id == campaign_id)
    cancelled = session.execute(
        update(Send)
        .where(Send.campaign_variant_id.in_(variants), Send.status.in_(_CANCELLABLE))
        .values(status=SendStatus.cancelled, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        session, actor, "campaign.sends_cancelled", "campaign", campaign_id, sends=cancelled
    )
    session.commit()
    # Each account's bulk line moves on to what waits behind the campaign.
    release_next_bulks(session, redis, settings, accounts)
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """One campaign, or `NotFound`."""
    return get_or_raise(session, Campaign, campaign_id)


def list_campaigns(session: Session, *, limit: int, cursor: str | None) -> Page[Campaign]:
    """Campaigns, newest first."""
    return paginate(
        session,
        select(Campaign),
        [SortKey(Campaign.id, descending=True)],
        limit=limit,
        cursor=cursor,
    )


def campaign_results(session: Session, campaign: Campaign) -> list[VariantResult]:
    """Each variant's record: its sends by status, purchases and revenue, in two queries."""
    results = {v.id: VariantResult(v, skipped=dict(v.skipped)) for v in campaign.variants}
    if not results:
        raise NotFound(f"campaign {campaign.id} has no variants")
    by_status = session.execute(
        select(Send.campaign_variant_id, Send.status, func.count())
        .where(Send.campaign_variant_id.in_(results))
        .group_by(Send.campaign_variant_id, Send.status)
    )
    for variant_id, status, count in by_status:
        result = results[variant_id]
        if status == SendStatus.queued:
            result.queued += count
        elif status in ON_ITS_WAY:
            result.in_flight += count
        elif status == SendStatus.delivered:
            result.sent += count
        elif status == SendStatus.failed:
            result.failed += count
        elif status == SendStatus.cancelled:
            result.cancelled += count
    bought = session.execute(
        select(
            Send.campaign_variant_id,
            func.count(Message.id),
            func.coalesce(func.sum(Message.ppv_price_cents), 0),
        )
        .join(
            Message,
            and_(
                Message.conversation_id == Send.conversation_id,
                Message.platform_message_id == Send.platform_message_id,
            ),
        )
        .where(Send.campaign_variant_id.in_(results), MESSAGE_IS_PURCHASE)
        .group_by(Send.campaign_variant_id)
    )
    for variant_id, purchases, revenue in bought:
        results[variant_id].purchases = int(purchases)
        results[variant_id].revenue_cents = int(revenue)
    return list(results.values())


@dataclass(frozen=True)
class CampaignTrouble:
    """Campaigns that need an operator: failed to launch in the window asked about, and
    past their time but not launched (no scheduler running?)."""

    failed: list[int]
    overdue: list[int]


def campaign_trouble(session: Session, settings: Settings, now: datetime) -> CampaignTrouble:
    """The campaigns that failed to launch in the last `failure_window_s`, and those with
    accounts left to reach past their time (in account time, the last zone's) by longer
    than a job may wait (`max_job_wait_s`, and at least two scheduler ticks)."""
    failed_since = now - timedelta(seconds=settings.scaled(settings.failure_window_s))
    late = max(
        settings.scaled(settings.max_job_wait_s), 2 * settings.scaled(settings.scheduler_tick_s)
    )
    failed = session.scalars(
        select(Campaign.id).where(Campaign.failed_at >= failed_since).order_by(Campaign.id)
    )
    cutoff = now - timedelta(seconds=late)
    overdue = session.scalars(
        select(Campaign.id)
        .where(
            _LAUNCHING,
            or_(
                and_(Campaign.local_send_at.is_(None), Campaign.send_at < cutoff),
                # In account time, the last zone comes to it a day and two hours after the
                # first (`send_at`): not late before then.
                and_(
                    Campaign.local_send_at.is_not(None),
                    Campaign.send_at < cutoff - AHEAD_OF_UTC - BEHIND_UTC,
                ),
            ),
        )
        .order_by(Campaign.id)
    )
    return CampaignTrouble(failed=list(failed), overdue=list(overdue))
