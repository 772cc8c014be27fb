"""The analytics reports: AI drafting, revenue, and operators."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from core.analytics.ai import AiReport, DayTokens, Waits, cost_usd
from core.analytics.operators import OperatorsReport
from core.analytics.revenue import RevenueReport
from core.settings import Settings

WAITS_FROM = "message.sent_at: when the fan sent the message, as the platform dates it"
COST_NOTE = "An estimate: tokens times the configured list prices, not the provider's invoice."


class WindowOut(BaseModel):
    """The period `[since, until)` reported on, and the account (None: all)."""

    since: datetime
    until: datetime
    account_id: int | None


class DraftCounts(BaseModel):
    """Drafts created in the window by what became of them. `approved` includes the
    modified and the auto-sent ones."""

    total: int
    pending: int
    decided: int
    approved: int
    modified: int
    rejected: int
    auto_sent: int


class Rates(BaseModel):
    """Shares (0..1) of the decided drafts; None while none is decided. `modification`
    counts approvals whose text an operator edited; `auto_send`, approvals by the policy."""

    approval: float | None
    modification: float | None
    rejection: float | None
    auto_send: float | None


class FilterHits(BaseModel):
    """Content filter hits per rule over every variant, and drafts with any hit."""

    by_rule: dict[str, int]
    drafts: int


class GuardFlags(BaseModel):
    """Wellbeing guard flags per signal, and conversations flagged."""

    by_signal: dict[str, int]
    conversations: int


class DayTokensOut(BaseModel):
    """One UTC day's drafting calls (all, and those that reached the LLM) and tokens."""

    day: date
    calls: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd_estimate: float

    @classmethod
    def of(cls, day: DayTokens, settings: Settings) -> DayTokensOut:
        """One day's figures, priced."""
        return cls(
            day=day.day,
            calls=day.calls,
            llm_calls=day.llm_calls,
            prompt_tokens=day.prompt_tokens,
            completion_tokens=day.completion_tokens,
            cost_usd_estimate=round(
                cost_usd(settings, day.prompt_tokens, day.completion_tokens), 6
            ),
        )


class TokensOut(BaseModel):
    """Tokens per UTC day (days with none left out), totals and the cost estimate."""

    days: list[DayTokensOut]
    prompt_tokens: int
    completion_tokens: int
    cost_usd_estimate: float
    price_per_1k_prompt_usd: float
    price_per_1k_completion_usd: float
    note: str = COST_NOTE


class WaitsOut(BaseModel):
    """Seconds fans waited: how many waits, the median and the 95th percentile (nearest
    rank: each is a wait some fan had); None when there is none."""

    count: int
    median_s: float | None
    p95_s: float | None

    @classmethod
    def of(cls, waits: Waits) -> WaitsOut:
        """The report of some waits."""
        return cls(count=waits.count, median_s=waits.median_s, p95_s=waits.p95_s)


class ResponseTimes(BaseModel):
    """From a fan's message (`from`) to the approved send's creation, and to its delivery
    for the delivered ones."""

    from_: str = Field(default=WAITS_FROM, alias="from")
    to_approval: WaitsOut
    to_delivery: WaitsOut


class AiAnalytics(BaseModel):
    """AI drafting analytics over one window."""

    window: WindowOut
    drafts: DraftCounts
    rates: Rates
    average_confidence: float | None = Field(
        description="Mean confidence (0-100) of the window's drafts that have one."
    )
    filter_hits: FilterHits
    guard_flags: GuardFlags
    tokens: TokensOut
    response_times: ResponseTimes

    @classmethod
    def of(cls, report: AiReport, settings: Settings) -> AiAnalytics:
        """The response body of a report, priced at the settings' token prices."""
        decisions = report.decisions
        prompt = sum(day.prompt_tokens for day in report.tokens)
        completion = sum(day.completion_tokens for day in report.tokens)
        return cls(
            window=WindowOut(
                since=report.window.since,
                until=report.window.until,
                account_id=report.window.account_id,
            ),
            drafts=DraftCounts(
                total=decisions.drafts,
                pending=decisions.pending,
                decided=decisions.decided,
                approved=decisions.approved,
                modified=decisions.modified,
                rejected=decisions.rejected,
                auto_sent=decisions.auto_sent,
            ),
            rates=Rates(
                approval=decisions.rate(decisions.approved),
                modification=decisions.rate(decisions.modified),
                rejection=decisions.rate(decisions.rejected),
                auto_send=decisions.rate(decisions.auto_sent),
            ),
            average_confidence=report.average_confidence,
            filter_hits=FilterHits(
                by_rule=report.filter_hits, drafts=report.drafts_with_filter_hits
            ),
            guard_flags=GuardFlags(
                by_signal=report.guard_flags, conversations=report.flagged_conversations
            ),
            tokens=TokensOut(
                days=[DayTokensOut.of(day, settings) for day in report.tokens],
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost_usd_estimate=round(cost_usd(settings, prompt, completion), 6),
                price_per_1k_prompt_usd=settings.ai_price_prompt_per_1k_usd,
                price_per_1k_completion_usd=settings.ai_price_completion_per_1k_usd,
            ),
            response_times=ResponseTimes(
                to_approval=WaitsOut.of(report.to_approval),
                to_delivery=WaitsOut.of(report.to_delivery),
            ),
        )


class DayRevenueOut(BaseModel):
    """One account's takings on one UTC day."""

    model_config = {"from_attributes": True}

    day: date
    account_id: int
    tips: int
    tips_cents: int
    ppv_sold: int
    ppv_cents: int
    total_cents: int


class ConversionOut(BaseModel):
    """PPV offers sent in the window, for one price band (cents, `low-high` or `low+`) or
    spend tier, and what came of them; `rate` is None while none was offered."""

    model_config = {"from_attributes": True}

    key: str
    offered: int
    bought: int
    revenue_cents: int
    rate: float | None


class RevenueOut(BaseModel):
    window: WindowOut
    tips_cents: int
    ppv_cents: int
    days: list[DayRevenueOut] = Field(description="Per account per UTC day with any, oldest first.")
    by_price_band: list[ConversionOut]
    by_tier: list[ConversionOut] = Field(description="By the fan's spend tier now.")

    @classmethod
    def of(cls, report: RevenueReport) -> RevenueOut:
        window = report.window
        return cls(
            window=WindowOut(since=window.since, until=window.until, account_id=window.account_id),
            tips_cents=report.tips_cents,
            ppv_cents=report.ppv_cents,
            days=[DayRevenueOut.model_validate(day) for day in report.days],
            by_price_band=[ConversionOut.model_validate(c) for c in report.by_price_band],
            by_tier=[ConversionOut.model_validate(c) for c in report.by_tier],
        )


class SpreadOut(BaseModel):
    """Median and 90th percentile, in seconds; null without any."""

    model_config = {"from_attributes": True}

    p50_s: float | None
    p90_s: float | None


class OperatorOut(BaseModel):
    model_config = {"from_attributes": True}

    operator: str = Field(description="The name of the key that decided (policy:auto_send too).")
    decided: int
    approved: int
    rejected: int
    edited: int = Field(description="Approvals whose text the operator changed.")
    edit_rate: float | None = Field(description="edited / approved; null without approvals.")
    time_to_decide: SpreadOut = Field(description="From the draft's creation to the decision.")
    first_response: SpreadOut = Field(
        description="From the fan's message to the delivery of the reply the operator approved."
    )
    revenue_cents: int = Field(description="PPVs the operator sent in the window, bought.")


class AuthorshipOut(BaseModel):
    model_config = {"from_attributes": True}

    author: str = Field(description="ai_unchanged, ai_edited or human.")
    messages: int = Field(description="Sends made in the window and delivered.")
    revenue_cents: int = Field(description="What the PPVs among them brought.")
    revenue_per_message_cents: float | None


class OperatorsOut(BaseModel):
    window: WindowOut
    operators: list[OperatorOut] = Field(description="Busiest first.")
    by_authorship: list[AuthorshipOut]

    @classmethod
    def of(cls, report: OperatorsReport) -> OperatorsOut:
        window = report.window
        return cls(
            window=WindowOut(since=window.since, until=window.until, account_id=window.account_id),
            operators=[OperatorOut.model_validate(o) for o in report.operators],
            by_authorship=[AuthorshipOut.model_validate(a) for a in report.by_authorship],
        )
