"""API key bodies: what an admin sends to mint one, and what is shown of a key (never its
hash; its plaintext once, in the answer that minted it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import RequestBody, ResponseBody, VisibleName, examples
from core.enums import Role

KeyName = VisibleName


class ApiKeyCreate(RequestBody):
    """A key for a person or a machine, by role."""

    model_config = examples(
        {"name": "chatter-ana", "role": "operator", "expires_in_days": 90},
        {"name": "worker-host-2", "role": "worker"},
    )

    name: KeyName = Field(description="Who or what holds the key; unique, and the audit's actor.")
    # Not strict: JSON gives the role as a string.
    role: Role = Field(strict=False, description="admin, operator or worker.")
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days until the key stops working; omit for a key that works until revoked.",
    )


class ApiKeyOut(ResponseBody):
    id: int
    name: str
    role: Role
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    expires_at: datetime | None = Field(description="When it stops working; null: never.")
    revoked_at: datetime | None


class ApiKeyMinted(ApiKeyOut):
    key: str = Field(description="The key itself: shown in this answer only, stored nowhere.")
