"""Drafting a message straight through the draft service, without the `ai` queue."""

from __future__ import annotations

from redis import Redis

from core.db import Database
from core.drafting.offline import OfflineDrafter
from core.models import Draft
from core.review.writing import create_draft_for_message
from core.settings import Settings
from tests.helpers.seeding import DraftFor

# Drafts the content filter holds: a phone number, and a phone number and a handle.
CONTACT = "Hi Sam, call me 555-123-4567"
CONTACT_DRAFT = "text me at 555-123-4567 or add me on snapchat xoxo"


def offline_draft(db: Database, redis: Redis, settings: Settings, message_id: int) -> Draft:
    """The draft the offline drafter writes for `message_id`, read back."""
    with db.session() as session:
        draft_id = create_draft_for_message(session, redis, settings, OfflineDrafter(), message_id)
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def drafted(draft_for: DraftFor, message_id: int) -> int:
    """The id of the draft `draft_for` writes for `message_id` (which must get one)."""
    draft_id = draft_for(message_id)
    assert draft_id is not None, f"message {message_id} got no draft"
    return draft_id
