"""Settings of one sandbox platform instance."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class SandboxConfig(BaseModel):
    """How a sandbox instance stores data, paces its guards and serves pages.

    Durations named `*_s` are human seconds. Guard windows are multiplied by `time_scale`
    (0.01 in tests) so scaled-down workers meet scaled-down limits; session lifetimes are
    wall-clock and never scaled.
    """

    model_config = ConfigDict(frozen=True)

    db_path: Path = Field(description="SQLite file; created with its schema if missing.")
    time_scale: float = Field(default=1.0, gt=0, description="Multiplies guard windows.")
    control_enabled: bool = Field(
        default=False, description="Serve the /_control API (demo and tests only)."
    )
    min_send_gap_s: float = Field(
        default=3.0, ge=0, description="Least time between two sends of one account."
    )
    session_ttl_s: float = Field(default=86400, gt=0, description="Login lifetime, unscaled.")
    page_size: int = Field(default=20, ge=1, le=200, description="Inbox rows per page.")
    flag_max_graphemes_per_event: int = Field(
        default=1, ge=1, description="More graphemes than this in one input event is flagged."
    )
