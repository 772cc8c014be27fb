"""The platform's guard settings, adjustable at run time through the control API."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.config import SandboxConfig


@dataclass
class Guards:
    """Send pacing and automation-flag thresholds currently in force.

    Start from the config; the control API may change them so a test can, say, provoke
    the send-gap refusal without waiting, and a reset restores the config's values.
    """

    time_scale: float
    min_send_gap_s: float
    max_graphemes_per_event: int

    @classmethod
    def from_config(cls, config: SandboxConfig) -> Guards:
        """The guards a fresh instance with `config` enforces."""
        return cls(
            time_scale=config.time_scale,
            min_send_gap_s=config.min_send_gap_s,
            max_graphemes_per_event=config.flag_max_graphemes_per_event,
        )

    @property
    def send_gap_s(self) -> float:
        """Least wall-clock time between two sends of one account."""
        return self.min_send_gap_s * self.time_scale
