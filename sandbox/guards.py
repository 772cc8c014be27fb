"""The platform's guard settings, adjustable at run time through the control API, and the
per-account request counter behind the action cap."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.config import SandboxConfig

SEND_CAP_WINDOW_S = 3600.0
"""The send cap counts sends in any window this long (human seconds, scaled)."""

ACTION_WINDOW_S = 60.0
"""The action cap counts requests in any window this long (human seconds, scaled)."""


@dataclass
class Guards:
    """Send pacing, request caps and automation-flag thresholds currently in force.

    Start from the config; the control API may change them so a test can, say, provoke
    the send-gap refusal without waiting, and a reset restores the config's values.
    """

    time_scale: float
    min_send_gap_s: float
    hourly_send_cap: int
    actions_per_minute: int
    max_graphemes_per_event: int
    max_chars_per_s: float
    min_interval_cv: float
    min_intervals: int

    @classmethod
    def from_config(cls, config: SandboxConfig) -> Guards:
        """The guards a fresh instance with `config` enforces."""
        return cls(
            time_scale=config.time_scale,
            min_send_gap_s=config.min_send_gap_s,
            hourly_send_cap=config.hourly_send_cap,
            actions_per_minute=config.actions_per_minute,
            max_graphemes_per_event=config.flag_max_graphemes_per_event,
            max_chars_per_s=config.flag_max_chars_per_s,
            min_interval_cv=config.flag_min_interval_cv,
            min_intervals=config.flag_min_intervals,
        )

    @property
    def send_gap_s(self) -> float:
        """Least wall-clock time between two sends of one account."""
        return self.min_send_gap_s * self.time_scale

    @property
    def send_window_s(self) -> float:
        """Wall-clock length of the window `hourly_send_cap` applies to."""
        return SEND_CAP_WINDOW_S * self.time_scale

    @property
    def action_window_s(self) -> float:
        """Wall-clock length of the window `actions_per_minute` applies to."""
        return ACTION_WINDOW_S * self.time_scale


@dataclass
class ActionCounter:
    """Logged-in requests per account in a sliding window, shared by the server's threads.

    Only admitted requests count: a refused one leaves the budget as it was, so a client
    that backs off for the advised time is let in again.
    """

    _admitted: dict[int, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, account_id: int, cap: int, window_s: float) -> float | None:
        """Count one request of the account and return None, or return the seconds until
        one is allowed if `cap` requests were already admitted in the last `window_s`."""
        now = time.monotonic()
        with self._lock:
            admitted = self._admitted.setdefault(account_id, deque())
            while admitted and admitted[0] <= now - window_s:
                admitted.popleft()
            if len(admitted) >= cap:
                return admitted[len(admitted) - cap] + window_s - now
            admitted.append(now)
            return None
