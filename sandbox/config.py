"""Settings of one sandbox platform instance."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The two platforms the sandbox can be, alike in what they do and unlike in how they
# show it: `fanbox` (data attributes everywhere) and `velvet` (email sign-in, times
# without offsets, money only as text, the price behind a button, one session per
# account). A profile that drives one must drive the other by its own file alone.
Skin = Literal["fanbox", "velvet"]


class SandboxConfig(BaseModel):
    """How a sandbox instance stores data, paces its guards and serves pages.

    Durations named `*_s` are human seconds. Guard windows (the send gap, the hour of the
    send cap, the minute of the action cap) are multiplied by `time_scale` (0.01 in tests)
    so scaled-down workers meet scaled-down limits, and a typing speed measured in real
    time is divided by it (see `sandbox.cadence`); session lifetimes are wall-clock and
    never scaled.

    The defaults sit just above the fleet's own budgets (`[pacing]` of the sandbox
    profile: 120 sends an hour, 60 UI actions a minute, each a page and its API call or
    two), so a fleet keeping to its budget is never refused and one that overruns it is.
    """

    model_config = ConfigDict(frozen=True)

    db_path: Path = Field(description="SQLite file; created with its schema if missing.")
    skin: Skin = Field(default="fanbox", description="Which platform the pages are.")
    timezone: str = Field(
        default="Asia/Tokyo",
        description="The zone velvet prints its offset-less times in (fanbox prints UTC).",
    )
    time_scale: float = Field(default=1.0, gt=0, description="Multiplies guard windows.")
    control_enabled: bool = Field(
        default=False, description="Serve the /_control API (demo and tests only)."
    )
    min_send_gap_s: float = Field(
        default=3.0, ge=0, description="Least time between two sends of one account."
    )
    hourly_send_cap: int = Field(
        default=150, ge=1, description="Most sends of one account in any hour (scaled)."
    )
    actions_per_minute: int = Field(
        default=240,
        ge=1,
        description="Most logged-in page and API requests of one account in any minute"
        " (scaled); a send counts too.",
    )
    session_ttl_s: float = Field(default=86400, gt=0, description="Login lifetime, unscaled.")
    session_max_requests: int | None = Field(
        default=None,
        ge=1,
        description="Logged-in page and API requests a login serves before the platform "
        "ends it (to end sessions mid-job at a known point); none: only its lifetime ends it.",
    )
    page_size: int = Field(default=20, ge=1, le=200, description="Inbox rows per page.")
    flag_max_graphemes_per_event: int = Field(
        default=1, ge=1, description="More graphemes than this in one input event is flagged."
    )
    flag_max_chars_per_s: float = Field(
        default=15.0,
        gt=0,
        description="Keystrokes per human second above which a message is flagged as too fast.",
    )
    flag_min_interval_cv: float = Field(
        default=0.2,
        ge=0,
        description="Key intervals whose coefficient of variation is below this are flagged"
        " as too regular.",
    )
    flag_min_intervals: int = Field(
        default=20,
        ge=1,
        description="Messages with fewer key intervals are not judged for speed or regularity.",
    )

    @property
    def login_path(self) -> str:
        """Where a logged-out page sends the browser."""
        return "/signin" if self.skin == "velvet" else "/login"

    @property
    def home_path(self) -> str:
        """The inbox page."""
        return "/messages" if self.skin == "velvet" else "/inbox"

    @property
    def thread_path(self) -> str:
        """A conversation's page, with `{conversation_id}` to fill."""
        return f"{'/messages' if self.skin == 'velvet' else '/chat'}/{{conversation_id}}"
