"""`/v1/campaigns`: one message in variants to a segment or to fans, now or later, with
its record per variant; paused, resumed and cancelled by operators."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from api.deps import CursorQuery, IdPath, LimitQuery, RedisDep, SessionDep, SettingsDep, StaffDep
from api.schemas.campaigns import CampaignCreate, CampaignOut
from api.schemas.common import PageOut, page_out
from core.models import Campaign
from core.outbox import campaigns

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])


def _out(session: Session, campaign: Campaign) -> CampaignOut:
    return CampaignOut.of(campaign, campaigns.campaign_results(session, campaign))


@router.get("", response_model=PageOut[CampaignOut])
def list_(
    session: SessionDep, _principal: StaffDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> PageOut[CampaignOut]:
    """Campaigns, newest first, each with its record."""
    page = campaigns.list_campaigns(session, limit=limit, cursor=cursor)
    return page_out(page, lambda campaign: _out(session, campaign))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CampaignOut)
def create(
    body: CampaignCreate,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> CampaignOut:
    """Create a campaign; without `send_at` (or with one past) it goes out at once, else
    the scheduler launches it at its time. Every send passes the gate: a fan it refuses is
    skipped and counted by reason. Sends go one per account at a time, after any reply."""
    campaign = campaigns.create_campaign(
        session,
        redis,
        settings,
        name=body.name,
        variants=[variant.spec() for variant in body.variants],
        actor=principal.name,
        segment_id=body.segment_id,
        fan_ids=body.fan_ids,
        send_at=body.send_at,
        local_send_at=body.local_send_at,
    )
    return _out(session, campaign)


@router.get("/{campaign_id:int}", response_model=CampaignOut)
def get(campaign_id: IdPath, session: SessionDep, _principal: StaffDep) -> CampaignOut:
    """One campaign and its record per variant: targeted, queued, in flight, sent, failed,
    cancelled, skipped by reason, purchases and revenue."""
    return _out(session, campaigns.get_campaign(session, campaign_id))


@router.post("/{campaign_id:int}/pause", response_model=CampaignOut)
def pause(campaign_id: IdPath, session: SessionDep, principal: StaffDep) -> CampaignOut:
    """Hold the sends not yet released (the one already out per account finishes)."""
    return _out(session, campaigns.pause_campaign(session, campaign_id, actor=principal.name))


@router.post("/{campaign_id:int}/resume", response_model=CampaignOut)
def resume(
    campaign_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> CampaignOut:
    """Let a paused campaign's sends go again."""
    campaign = campaigns.resume_campaign(
        session, redis, settings, campaign_id, actor=principal.name
    )
    return _out(session, campaign)


@router.post("/{campaign_id:int}/cancel", response_model=CampaignOut)
def cancel(
    campaign_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> CampaignOut:
    """Call the campaign off: every send of it not yet being typed is cancelled."""
    campaign = campaigns.cancel_campaign(
        session, redis, settings, campaign_id, actor=principal.name
    )
    return _out(session, campaign)
