"""Choosing the drafter: the one seam where a provider is picked from the settings."""

from __future__ import annotations

from core.drafting.base import Drafter
from core.drafting.offline import OfflineDrafter
from core.settings import Settings


def get_drafter(settings: Settings) -> Drafter:
    """The drafter the settings ask for. Only the offline drafter exists so far, so it is
    the answer whatever the settings say."""
    del settings  # read once the OpenAI-compatible provider lands
    return OfflineDrafter()
