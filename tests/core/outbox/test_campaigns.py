"""Campaigns: launched to a segment through the one gate, split by shares, paced one send
per account behind replies, held by a pause and called off by a cancel, scheduled for
later, and counted per variant down to the purchases; the same queries for many fans as
for few."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from redis import Redis

from core.clock import utcnow
from core.crm import FanFilter, create_segment, delete_segment
from core.db import Database
from core.enums import CampaignStatus, Direction, SendStatus
from core.errors import InvalidState
from core.models import AuditEvent, Campaign, CampaignVariant, Message, Send
from core.outbox.bulk import release_next_bulk
from core.outbox.campaigns import (
    NO_CONVERSATION,
    VariantResult,
    VariantSpec,
    bucket_of,
    campaign_results,
    campaign_trouble,
    cancel_campaign,
    create_campaign,
    launch_due_campaigns,
    launch_or_fail,
    pause_campaign,
    resume_campaign,
    variant_for,
)
from core.settings import Settings
from tests.helpers.crm import FanSpec, add_account, add_fans

MINUTE = timedelta(minutes=1)
AB = [
    VariantSpec("A", "New set tonight 🔥", 50, 1500),
    VariantSpec("B", "Made this for you", 50, 1500),
]


@pytest.fixture
def segment_id(db: Database) -> int:
    """Six tagged fans of one account (and one untagged)."""
    account_id = add_account(db)
    add_fans(
        db,
        account_id,
        *(FanSpec(f"f{n}", tags=["vip"]) for n in range(6)),
        FanSpec("other"),
    )
    with db.session() as session:
        return create_segment(
            session, name="VIPs", fan_filter=FanFilter(tags=["vip"]), actor="op"
        ).id


def _launch(
    db: Database,
    redis: Redis,
    settings: Settings,
    segment_id: int,
    send_at: datetime | None = None,
) -> Campaign:
    with db.session() as session:
        return create_campaign(
            session,
            redis,
            settings,
            name="Friday",
            variants=AB,
            actor="op",
            segment_id=segment_id,
            send_at=send_at,
        )


def _sends(db: Database, campaign_id: int) -> list[Send]:
    with db.session() as session:
        return list(
            session.scalars(
                sa.select(Send)
                .join(CampaignVariant, CampaignVariant.id == Send.campaign_variant_id)
                .where(CampaignVariant.campaign_id == campaign_id)
                .order_by(Send.id)
            )
        )


def _results(db: Database, campaign_id: int) -> dict[str, VariantResult]:
    with db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return {result.variant.name: result for result in campaign_results(session, campaign)}


def test_a_campaign_goes_to_its_segment_split_by_shares_one_send_out_per_account(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    campaign = _launch(db, redis, settings, segment_id)
    assert campaign.status == CampaignStatus.running
    sends = _sends(db, campaign.id)
    assert len(sends) == 6 and {s.priority.value for s in sends} == {"bulk"}
    # One released to the workers; the others wait behind it (and behind any reply).
    assert sum(s.released_at is not None for s in sends) == 1
    results = _results(db, campaign.id)
    with db.session() as session:
        variants = list(session.scalars(sa.select(CampaignVariant).order_by(CampaignVariant.id)))
        fan_of = {s.id: s.conversation.fan_id for s in session.scalars(sa.select(Send))}
    for send in sends:
        assert send.campaign_variant_id == variant_for(fan_of[send.id], variants).id
    assert sum(r.targeted for r in (v.variant for v in results.values())) == 6


def test_the_split_follows_the_shares_and_never_moves() -> None:
    variants = [
        CampaignVariant(id=1, name="A", share=30),
        CampaignVariant(id=2, name="B", share=70),
    ]
    counts = Counter(variant_for(fan_id, variants).name for fan_id in range(1, 10_001))
    assert 2_800 <= counts["A"] <= 3_200
    assert [bucket_of(fan_id) for fan_id in (1, 2, 3)] == [bucket_of(1), bucket_of(2), bucket_of(3)]


def test_fans_the_gate_refuses_or_who_have_no_conversation_are_skipped_with_reasons(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE conversations SET flagged_for_review = :t, flag_reason = 'distress'"
                " WHERE fan_id = (SELECT id FROM fans WHERE platform_fan_id = 'f0')"
            ),
            {"t": True},
        )
        connection.execute(
            sa.text(
                "DELETE FROM conversations"
                " WHERE fan_id = (SELECT id FROM fans WHERE platform_fan_id = 'f1')"
            )
        )
    campaign = _launch(db, redis, settings, segment_id)
    skipped: Counter[str] = Counter()
    for result in _results(db, campaign.id).values():
        skipped.update(result.skipped)
    assert skipped[NO_CONVERSATION] == 1
    assert any(reason.startswith("guard:") for reason in skipped)
    assert len(_sends(db, campaign.id)) == 4


def test_a_paused_campaign_holds_its_sends_until_resumed(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    campaign = _launch(db, redis, settings, segment_id)
    first = next(s for s in _sends(db, campaign.id) if s.released_at is not None)
    with db.session() as session:
        pause_campaign(session, campaign.id, actor="op")
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE sends SET status = 'delivered' WHERE id = :id"), {"id": first.id}
        )
    with db.session() as session:
        assert release_next_bulk(session, redis, settings, first.account_id) is None
        resume_campaign(session, redis, settings, campaign.id, actor="op")
    released = [s for s in _sends(db, campaign.id) if s.released_at is not None]
    assert len(released) == 2


def test_a_cancelled_campaign_calls_off_every_send_not_being_typed(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    campaign = _launch(db, redis, settings, segment_id)
    with db.session() as session:
        cancel_campaign(session, redis, settings, campaign.id, actor="op")
        with pytest.raises(InvalidState):
            resume_campaign(session, redis, settings, campaign.id, actor="op")
    assert {s.status for s in _sends(db, campaign.id)} == {SendStatus.cancelled}
    assert sum(r.cancelled for r in _results(db, campaign.id).values()) == 6


def test_a_scheduled_campaign_waits_for_its_time(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    campaign = _launch(db, redis, settings, segment_id, send_at=utcnow() + timedelta(hours=1))
    assert campaign.status == CampaignStatus.scheduled and _sends(db, campaign.id) == []
    with db.session() as session:
        assert launch_due_campaigns(session, redis, settings, actor="scheduler") == 0
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE campaigns SET send_at = :at"), {"at": utcnow() - timedelta(seconds=1)}
        )
    with db.session() as session:
        assert launch_due_campaigns(session, redis, settings, actor="scheduler") == 1
    assert len(_sends(db, campaign.id)) == 6


def test_the_record_counts_purchases_and_revenue_per_variant(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    campaign = _launch(db, redis, settings, segment_id)
    sold = _sends(db, campaign.id)[0]
    with db.session() as session:
        send = session.get(Send, sold.id)
        assert send is not None
        send.status = SendStatus.delivered
        send.platform_message_id = "sold-1"
        session.add(
            Message(
                conversation_id=send.conversation_id,
                platform_message_id="sold-1",
                direction=Direction.outbound,
                text="New set tonight 🔥",
                sent_at=utcnow(),
                ppv_price_cents=1500,
                ppv_paid=True,
                paid_at=utcnow(),
            )
        )
        session.commit()
        variant = session.get(CampaignVariant, send.campaign_variant_id)
        assert variant is not None
        name = variant.name
    result = _results(db, campaign.id)[name]
    assert (result.sent, result.purchases, result.revenue_cents) == (1, 1, 1500)


# On PostgreSQL, where each statement is a round trip. SQLite's rows are inserted one
# statement each by SQLAlchemy (its driver cannot return their ids in order otherwise),
# which in-process costs microseconds.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_campaign_costs_the_same_queries_for_many_fans_as_for_few(
    db: Database, redis: Redis, settings: Settings
) -> None:
    account_id = add_account(db)
    add_fans(db, account_id, FanSpec("warm", tags=["warm"]))
    add_fans(db, account_id, *(FanSpec(f"few{n}", tags=["few"]) for n in range(3)))
    add_fans(db, account_id, *(FanSpec(f"many{n}", tags=["many"]) for n in range(30)))
    counts = []
    # The first launch on a connection also looks up the driver's types: not counted.
    for tag in ("warm", "few", "many"):
        with db.session() as session:
            segment = create_segment(
                session, name=tag, fan_filter=FanFilter(tags=[tag]), actor="op"
            )
        statements: list[str] = []

        def count(*args: object, into: list[str] = statements) -> None:
            into.append(str(args[2]))

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            _launch(db, redis, settings, segment.id)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[1] == counts[2], counts


@pytest.fixture
def zones(db: Database) -> dict[str, int]:
    """Two tagged fans in Tokyo (UTC+9, no daylight saving) and two in Lima (UTC-5, none
    either): the same wall-clock time comes 14 hours apart."""
    found = {}
    for city, zone in (("tokyo", "Asia/Tokyo"), ("lima", "America/Lima")):
        found[city] = add_account(db, city.title(), time_zone=zone)
        add_fans(db, found[city], *(FanSpec(f"{city}{n}", tags=["vip"]) for n in range(2)))
    return found


def _in_account_time(
    db: Database, redis: Redis, settings: Settings, wall: datetime, now: datetime
) -> Campaign:
    with db.session() as session:
        segment = create_segment(
            session, name="VIPs", fan_filter=FanFilter(tags=["vip"]), actor="op"
        )
        campaign = create_campaign(
            session,
            redis,
            settings,
            name="Friday 8pm",
            variants=AB,
            actor="op",
            segment_id=segment.id,
            local_send_at=wall,
        )
        launch_due_campaigns(session, redis, settings, actor="scheduler", now=now)
        session.refresh(campaign)
        return campaign


def _accounts_sent_to(db: Database, campaign_id: int) -> set[int]:
    return {send.account_id for send in _sends(db, campaign_id)}


def test_in_account_time_each_account_gets_the_campaign_when_its_clocks_read_it(
    db: Database, redis: Redis, settings: Settings, zones: dict[str, int]
) -> None:
    wall = datetime(2030, 6, 7, 20, 0)
    tokyo_8pm = datetime(2030, 6, 7, 11, 0, tzinfo=UTC)
    lima_8pm = datetime(2030, 6, 8, 1, 0, tzinfo=UTC)
    campaign = _in_account_time(db, redis, settings, wall, now=tokyo_8pm - timedelta(minutes=1))
    assert campaign.send_at == datetime(2030, 6, 7, 6, 0, tzinfo=UTC)  # UTC+14's 8pm
    assert _sends(db, campaign.id) == []

    with db.session() as session:
        assert launch_due_campaigns(session, redis, settings, actor="s", now=tokyo_8pm) == 1
        # Nothing new until Lima's clocks come to it: no launch, nothing audited.
        assert launch_due_campaigns(session, redis, settings, actor="s", now=lima_8pm - MINUTE) == 0
        reached = session.get(Campaign, campaign.id)
        assert reached is not None
        assert (reached.status, reached.launched_accounts) == (
            CampaignStatus.running,
            [zones["tokyo"]],
        )
        assert reached.launched_at is None
    assert _accounts_sent_to(db, campaign.id) == {zones["tokyo"]}

    with db.session() as session:
        assert launch_due_campaigns(session, redis, settings, actor="s", now=lima_8pm) == 1
        done = session.get(Campaign, campaign.id)
        assert done is not None and done.launched_at == lima_8pm
        assert launch_due_campaigns(session, redis, settings, actor="s", now=lima_8pm + MINUTE) == 0
    assert _accounts_sent_to(db, campaign.id) == {zones["tokyo"], zones["lima"]}
    assert sum(r.variant.targeted for r in _results(db, campaign.id).values()) == 4


def test_a_campaign_in_account_time_is_read_in_daylight_saving_time_where_it_applies(
    db: Database, redis: Redis, settings: Settings
) -> None:
    new_york = add_account(db, "Ny", time_zone="America/New_York")
    add_fans(db, new_york, FanSpec("ny", tags=["vip"]))
    # 8pm on a July evening in New York is 00:00 UTC (EDT, UTC-4), not 01:00 (EST).
    campaign = _in_account_time(
        db, redis, settings, datetime(2030, 7, 5, 20, 0), datetime(2030, 7, 6, 0, 0, tzinfo=UTC)
    )
    assert _accounts_sent_to(db, campaign.id) == {new_york}


def test_an_account_with_a_zone_the_machine_does_not_know_is_read_in_utc(
    db: Database, redis: Redis, settings: Settings
) -> None:
    lost = add_account(db, "Lost", time_zone="Mars/Olympus_Mons")
    add_fans(db, lost, FanSpec("m", tags=["vip"]))
    wall = datetime(2030, 6, 7, 20, 0)
    utc_8pm = datetime(2030, 6, 7, 20, 0, tzinfo=UTC)
    campaign = _in_account_time(db, redis, settings, wall, now=utc_8pm - MINUTE)
    assert _sends(db, campaign.id) == []
    with db.session() as session:
        assert launch_due_campaigns(session, redis, settings, actor="s", now=utc_8pm) == 1
    assert _accounts_sent_to(db, campaign.id) == {lost}


def test_a_campaign_whose_segment_was_deleted_fails_once_and_the_others_still_go(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    later = utcnow() + timedelta(hours=1)
    doomed = _launch(db, redis, settings, segment_id, send_at=later)
    with db.session() as session:
        other = create_segment(session, name="all", fan_filter=FanFilter(), actor="op").id
    fine = _launch(db, redis, settings, other, send_at=later)
    with db.session() as session:
        delete_segment(session, segment_id, actor="op")
        assert launch_due_campaigns(session, redis, settings, actor="s", now=later) == 2
        assert launch_due_campaigns(session, redis, settings, actor="s", now=later) == 0
        failed = session.get(Campaign, doomed.id)
        assert failed is not None and failed.status == CampaignStatus.failed
        assert failed.failure == f"campaign {doomed.id}'s segment was deleted"
        assert failed.failed_at == later
        trouble = campaign_trouble(session, settings, later)
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.subject_id == doomed.id)
        ).all()
    assert trouble.failed == [doomed.id]
    assert actions.count("campaign.failed") == 1
    assert len(_sends(db, fine.id)) == 7


def test_a_campaign_left_scheduled_past_its_time_is_overdue(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    send_at = utcnow() + timedelta(hours=1)
    campaign = _launch(db, redis, settings, segment_id, send_at=send_at)
    late = timedelta(seconds=settings.scaled(settings.max_job_wait_s)) + timedelta(hours=1)
    with db.session() as session:
        assert campaign_trouble(session, settings, send_at).overdue == []
        assert campaign_trouble(session, settings, send_at + late).overdue == [campaign.id]


def test_a_campaign_in_account_time_is_not_overdue_before_the_last_zone_reaches_it(
    db: Database, redis: Redis, settings: Settings, zones: dict[str, int]
) -> None:
    wall = datetime(2030, 6, 7, 20, 0)
    campaign = _in_account_time(db, redis, settings, wall, now=datetime(2030, 6, 7, tzinfo=UTC))
    late = timedelta(seconds=settings.scaled(settings.max_job_wait_s)) + MINUTE
    last_zone = datetime(2030, 6, 8, 8, 0, tzinfo=UTC)  # UTC-12's 8pm
    with db.session() as session:
        # Past UTC+14's 8pm, Tokyo's and Lima's, and no tick has run since: nothing is
        # overdue until the last place on earth has come to it.
        assert campaign_trouble(session, settings, last_zone - MINUTE).overdue == []
        assert campaign_trouble(session, settings, last_zone + late).overdue == [campaign.id]


def test_a_campaign_cancelled_before_its_launch_runs_stays_cancelled(
    db: Database, redis: Redis, settings: Settings, segment_id: int
) -> None:
    later = utcnow() + timedelta(hours=1)
    campaign = _launch(db, redis, settings, segment_id, send_at=later)
    with db.session() as session:
        cancel_campaign(session, redis, settings, campaign.id, actor="op")
        # As a scheduler tick that read the campaign as due just before the cancel would.
        kept = launch_or_fail(session, redis, settings, campaign.id, actor="s", now=later)
        assert (kept.status, kept.failure) == (CampaignStatus.cancelled, None)


def test_a_campaign_failing_midway_through_its_zones_goes_on_for_the_accounts_it_reached(
    db: Database, redis: Redis, settings: Settings, zones: dict[str, int]
) -> None:
    tokyo_8pm = datetime(2030, 6, 7, 11, 0, tzinfo=UTC)
    lima_8pm = datetime(2030, 6, 8, 1, 0, tzinfo=UTC)
    campaign = _in_account_time(db, redis, settings, datetime(2030, 6, 7, 20, 0), tokyo_8pm)
    assert campaign.segment_id is not None
    with db.session() as session:
        delete_segment(session, campaign.segment_id, actor="op")
        assert launch_due_campaigns(session, redis, settings, actor="s", now=lima_8pm) == 1
        halted = session.get(Campaign, campaign.id)
        assert halted is not None
        assert (halted.status, halted.launched_at) == (CampaignStatus.running, lima_8pm)
        assert halted.failure == f"campaign {campaign.id}'s segment was deleted"
        assert campaign_trouble(session, settings, lima_8pm).failed == [campaign.id]
        assert launch_due_campaigns(session, redis, settings, actor="s", now=lima_8pm) == 0
    assert _accounts_sent_to(db, campaign.id) == {zones["tokyo"]}


def test_a_wall_clock_time_is_kept_to_the_second(
    db: Database, redis: Redis, settings: Settings, zones: dict[str, int]
) -> None:
    wall = datetime(2030, 6, 7, 20, 0, 0, 500_000)
    campaign = _in_account_time(db, redis, settings, wall, datetime(2030, 6, 7, tzinfo=UTC))
    assert campaign.local_send_at == "2030-06-07T20:00:00"
