"""Campaign bodies: a message in variants to a segment or a list of fans, and its record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field, NaiveDatetime, StringConstraints, model_validator

from api.schemas.common import (
    MediaIds,
    PriceCents,
    RequestBody,
    ResponseBody,
    RowId,
    Text,
    VisibleName,
    examples,
)
from core.clock import in_window
from core.enums import CampaignStatus
from core.models import Campaign
from core.outbox.campaigns import MAX_LISTED_FANS, MAX_VARIANTS, VariantResult, VariantSpec

VariantName = Annotated[
    str, StringConstraints(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")
]
SendTime = Annotated[datetime, Field(strict=False), AfterValidator(in_window)]


def _wall_in_window(value: datetime) -> datetime:
    return in_window(value).replace(tzinfo=None)


WallTime = Annotated[NaiveDatetime, Field(strict=False), AfterValidator(_wall_in_window)]


class VariantIn(RequestBody):
    name: VariantName = Field(description='What results call it: "A", "B"...')
    text: Text
    share: int = Field(ge=1, le=100, description="Percent of the fans who get this variant.")
    ppv_price_cents: PriceCents | None = Field(
        default=None, description="A price in cents makes the message a pay-per-view offer."
    )
    media: MediaIds = []

    def spec(self) -> VariantSpec:
        return VariantSpec(
            name=self.name,
            text=self.text,
            share=self.share,
            ppv_price_cents=self.ppv_price_cents,
            media=tuple(self.media),
        )


class CampaignCreate(RequestBody):
    """A campaign to a segment (`segment_id`) or to fans by id (`fan_ids`), now, at
    `send_at`, or at `local_send_at` in each account's time zone. Variants split the fans
    by their shares, which add up to 100."""

    model_config = examples(
        {
            "name": "Friday set",
            "segment_id": 1,
            "send_at": "2026-12-04T20:00:00Z",
            "variants": [
                {
                    "name": "A",
                    "text": "New set just for you 🔥",
                    "share": 50,
                    "ppv_price_cents": 1500,
                },
                {
                    "name": "B",
                    "text": "Made this one thinking of you",
                    "share": 50,
                    "ppv_price_cents": 1500,
                },
            ],
        }
    )
    name: VisibleName
    segment_id: RowId | None = Field(default=None, description="The segment it goes to.")
    fan_ids: list[RowId] = Field(
        default_factory=list, max_length=MAX_LISTED_FANS, description="Or the fans it goes to."
    )
    send_at: SendTime | None = Field(
        default=None, description="When it goes out (ISO 8601; no zone means UTC); now if absent."
    )
    local_send_at: WallTime | None = Field(
        default=None,
        description="A wall-clock time without an offset (2026-12-04T20:00:00): each "
        "account's fans get the campaign when the account's clocks read it, in the "
        "account's time_zone. Give it or send_at, not both.",
    )
    variants: list[VariantIn] = Field(min_length=1, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _one_audience(self) -> Self:
        if (self.segment_id is None) == (not self.fan_ids):
            raise ValueError("give segment_id or fan_ids, one of them")
        if self.send_at is not None and self.local_send_at is not None:
            raise ValueError("give send_at or local_send_at, not both")
        if sum(variant.share for variant in self.variants) != 100:
            raise ValueError("the variants' shares must add up to 100")
        if len({variant.name for variant in self.variants}) != len(self.variants):
            raise ValueError("each variant needs its own name")
        return self


class VariantOut(ResponseBody):
    id: int
    name: str
    text: str
    share: int
    ppv_price_cents: int | None
    targeted: int = Field(description="Fans the split gave this variant at launch.")
    queued: int
    in_flight: int = Field(description="Claimed, being typed or submitted.")
    sent: int
    failed: int
    cancelled: int
    skipped: dict[str, int] = Field(description="Fans left out at launch, by reason.")
    purchases: int = Field(description="Its PPVs the fans bought.")
    revenue_cents: int

    @classmethod
    def of(cls, result: VariantResult) -> VariantOut:
        variant = result.variant
        return cls(
            id=variant.id,
            name=variant.name,
            text=variant.text,
            share=variant.share,
            ppv_price_cents=variant.ppv_price_cents,
            targeted=variant.targeted,
            queued=result.queued,
            in_flight=result.in_flight,
            sent=result.sent,
            failed=result.failed,
            cancelled=result.cancelled,
            skipped=result.skipped,
            purchases=result.purchases,
            revenue_cents=result.revenue_cents,
        )


class CampaignOut(ResponseBody):
    id: int
    name: str
    status: CampaignStatus
    segment_id: int | None
    fans_listed: int = Field(description="How many fans a list named (0 for a segment).")
    send_at: datetime = Field(
        description="When it goes out; in account time, when the first zone reaches it."
    )
    local_send_at: NaiveDatetime | None = Field(
        description="The wall-clock time each account gets it at, in the account's zone."
    )
    launched_accounts: list[int] = Field(
        description="In account time, the accounts reached so far, zone by zone."
    )
    launched_at: datetime | None = Field(
        description="When it was launched; in account time, when its last zone was."
    )
    failure: str | None = Field(description="Why it could not launch (status failed).")
    failed_at: datetime | None
    created_by: str
    created_at: datetime
    variants: list[VariantOut]

    @classmethod
    def of(cls, campaign: Campaign, results: list[VariantResult]) -> CampaignOut:
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            segment_id=campaign.segment_id,
            fans_listed=len(campaign.fan_ids),
            send_at=campaign.send_at,
            local_send_at=(
                None
                if campaign.local_send_at is None
                else datetime.fromisoformat(campaign.local_send_at)
            ),
            launched_accounts=campaign.launched_accounts,
            launched_at=campaign.launched_at,
            failure=campaign.failure,
            failed_at=campaign.failed_at,
            created_by=campaign.created_by,
            created_at=campaign.created_at,
            variants=[VariantOut.of(result) for result in results],
        )
