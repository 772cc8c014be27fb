"""Fixtures for the drafting tests: the local LLM stub, settings pointing at it, and a
conversation seeded straight into the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from core.db import Database
from core.drafting.providers import get_drafter
from core.enums import Direction
from core.models import Account, Conversation, Fan, Message
from core.review.writing import create_draft_for_message
from core.settings import Settings
from tests.ai.llm_stub import LLMStub, RunningStub

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STUB_KEY = "sk-stub-test-key"
STUB_MODEL = "stub-chat-1"
PERSONA: dict[str, Any] = {
    "name": "Mia",
    "tone": "flirty",
    "emoji_style": "some",
    "emojis": ["😘"],
    "phrases": ["xoxo babe"],
    "forbidden_words": ["daddy"],
}


@pytest.fixture
def llm_stub() -> Iterator[LLMStub]:
    """An OpenAI-compatible server on loopback accepting `STUB_KEY` and `STUB_MODEL`."""
    running = RunningStub(LLMStub(api_key=STUB_KEY, model=STUB_MODEL))
    yield running.stub
    running.close()


@pytest.fixture
def llm_settings(settings: Settings, llm_stub: LLMStub) -> Settings:
    """The test's settings with the stub as the drafting endpoint and tiny timeouts."""
    return settings.model_copy(
        update={
            "openai_base_url": llm_stub.url,
            "openai_api_key": STUB_KEY,
            "openai_model": STUB_MODEL,
            "openai_timeout_s": 0.3,
            "openai_max_retries": 2,
        }
    )


@dataclass(frozen=True)
class Line:
    """A message to seed: who wrote it, what, `minute` minutes after T0, and its money; a
    paid PPV was paid `paid_minute` minutes after T0 (default: when it was sent)."""

    direction: str
    text: str
    minute: float = 0
    tip_cents: int = 0
    ppv_price_cents: int | None = None
    ppv_paid: bool | None = None
    paid_minute: float | None = None


@dataclass(frozen=True)
class Seeded:
    account_id: int
    conversation_id: int
    fan_id: int
    message_ids: list[int] = field(default_factory=list)

    @property
    def last(self) -> int:
        return self.message_ids[-1]


def seed(
    db: Database,
    lines: list[Line],
    *,
    persona: dict[str, Any] | None = None,
    spend_cents: int = 0,
    auto_send: bool = False,
    tags: list[str] | None = None,
    notes: str = "",
    fan_name: str = "Sam Jones",
    policy: dict[str, Any] | None = None,
    start: datetime = T0,
) -> Seeded:
    """An account, a fan and one conversation holding `lines` (minutes after `start`),
    written to the database."""
    with db.session() as session:
        account = Account(
            name="Mia",
            username="mia",
            password="secret-password",
            persona=PERSONA if persona is None else persona,
            auto_send=auto_send,
            policy=policy,
        )
        session.add(account)
        session.flush()
        fan = Fan(
            account_id=account.id,
            platform_fan_id="fan-1",
            name=fan_name,
            total_spend_cents=spend_cents,
            tags=tags or [],
            notes=notes,
        )
        session.add(fan)
        session.flush()
        conversation = Conversation(
            account_id=account.id, fan_id=fan.id, platform_conversation_id="c-1"
        )
        session.add(conversation)
        session.flush()
        ids = []
        for index, line in enumerate(lines):
            paid_minute = line.minute if line.paid_minute is None else line.paid_minute
            message = Message(
                conversation_id=conversation.id,
                platform_message_id=f"m{index}",
                direction=Direction(line.direction),
                text=line.text,
                sent_at=start + timedelta(minutes=line.minute),
                tip_cents=line.tip_cents,
                ppv_price_cents=line.ppv_price_cents,
                ppv_paid=line.ppv_paid,
                paid_at=start + timedelta(minutes=paid_minute) if line.ppv_paid else None,
            )
            session.add(message)
            session.flush()
            ids.append(message.id)
        conversation.last_message_at = start + timedelta(minutes=max(x.minute for x in lines))
        session.commit()
        return Seeded(account.id, conversation.id, fan.id, ids)


DraftFor = Callable[[int], int | None]


@pytest.fixture
def draft_for(db: Database, redis: Redis, llm_settings: Settings) -> DraftFor:
    """`draft_for(message_id)`: run the draft service with the stub-backed drafter."""

    def run(message_id: int) -> int | None:
        with db.session() as session:
            return create_draft_for_message(
                session, redis, llm_settings, get_drafter(llm_settings), message_id
            )

    return run
