"""A client of the sandbox's control API, for the demo, the benchmarks and the tests.

It seeds accounts, fans and inbound messages, and reads back what the platform received:
delivered messages with their cadence, flags and refusals. See `sandbox/control.py` for
the endpoints. Accounts and fans may be passed as the objects the helpers return or as
plain strings (username, fan id); any non-2xx answer raises `SandboxControlError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import httpx
from pydantic import TypeAdapter

from sandbox.audit import DeliveredMessage, FlagRecord, MessageRecord, RefusalRecord

DEFAULT_PASSWORD = "correct horse battery"


class SandboxControlError(RuntimeError):
    """The control API refused a helper's request."""


@dataclass(frozen=True)
class SandboxAccount:
    """A creator account, the name it signs in with on this platform (its username, or
    its email on velvet) and the password."""

    username: str
    password: str
    display_name: str
    login: str


@dataclass(frozen=True)
class SandboxPlatform:
    """Which platform a sandbox serves: its skin (and so its bundled profile's name),
    the zone it prints times in, and where its pages are."""

    skin: str
    timezone: str
    login_path: str
    home_path: str
    thread_path: str

    @property
    def profile(self) -> str:
        """The bundled profile that drives it."""
        return "sandbox" if self.skin == "fanbox" else self.skin


@dataclass(frozen=True)
class SandboxFan:
    """A fan of an account and their conversation."""

    fan_id: str
    conversation_id: str
    name: str


@dataclass(frozen=True)
class InjectedMessage:
    """An inbound message or tip the control API added."""

    message_id: str
    conversation_id: str
    sent_at: str


AccountRef = SandboxAccount | str
FanRef = SandboxFan | str

_DELIVERED = TypeAdapter(list[DeliveredMessage])
_MESSAGES = TypeAdapter(list[MessageRecord])
_FLAGS = TypeAdapter(list[FlagRecord])
_REFUSALS = TypeAdapter(list[RefusalRecord])


class SandboxControl:
    """A handle on a running sandbox: its URLs and the control API."""

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(base_url=self.url, timeout=10)

    @property
    def login_url(self) -> str:
        """The login page."""
        return f"{self.url}{self._platform.login_path}"

    @property
    def inbox_url(self) -> str:
        """The inbox page."""
        return f"{self.url}{self._platform.home_path}"

    def thread_url(self, conversation: SandboxFan | str) -> str:
        """The chat page of a fan's conversation (or of a conversation id like `c3`)."""
        conversation_id = (
            conversation.conversation_id if isinstance(conversation, SandboxFan) else conversation
        )
        return self.url + self._platform.thread_path.format(conversation_id=conversation_id)

    @cached_property
    def _platform(self) -> SandboxPlatform:
        return self.platform()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A raw request to the sandbox (`path` like `/_control/flags`), unchecked."""
        return self._client.request(method, path, **kwargs)

    def reset(self) -> None:
        """Wipe every account, message and record; restore the default guards."""
        self._call("POST", "/_control/reset")

    def create_account(
        self,
        username: str,
        password: str = DEFAULT_PASSWORD,
        display_name: str | None = None,
    ) -> SandboxAccount:
        """Create a creator account (display name defaults to the username)."""
        body = self._call(
            "POST",
            "/_control/accounts",
            json={"username": username, "password": password, "display_name": display_name},
        )
        return SandboxAccount(username, password, body["display_name"], body["login"])

    def platform(self) -> SandboxPlatform:
        """Which platform this sandbox serves."""
        return SandboxPlatform(**self._call("GET", "/_control/platform"))

    def add_media(self, account: AccountRef, title: str) -> str:
        """Put an item in the account's vault; returns its media id."""
        body = self._call(
            "POST", f"/_control/accounts/{_username(account)}/vault", json={"title": title}
        )
        return str(body["media_id"])

    def login_count(self, account: AccountRef) -> int:
        """How many times the account has logged in since it was created."""
        return int(self._call("GET", f"/_control/accounts/{_username(account)}")["logins"])

    def create_fan(self, account: AccountRef, name: str) -> SandboxFan:
        """Add a fan to the account; returns the fan's and the conversation's ids."""
        body = self._call(
            "POST", f"/_control/accounts/{_username(account)}/fans", json={"name": name}
        )
        return SandboxFan(body["fan_id"], body["conversation_id"], body["name"])

    def inbound(
        self, account: AccountRef, fan: FanRef, text: str, sent_at: datetime | None = None
    ) -> InjectedMessage:
        """The fan writes `text` to the creator (at `sent_at`, timezone-aware; default now)."""
        return self._inject(account, fan, "messages", {"text": text}, sent_at)

    def tip(
        self,
        account: AccountRef,
        fan: FanRef,
        amount_cents: int,
        text: str = "",
        sent_at: datetime | None = None,
    ) -> InjectedMessage:
        """The fan tips the creator, optionally with a note."""
        body = {"amount_cents": amount_cents, "text": text}
        return self._inject(account, fan, "tips", body, sent_at)

    def offer(
        self,
        account: AccountRef,
        fan: FanRef,
        text: str,
        price_cents: int,
        sent_at: datetime | None = None,
    ) -> InjectedMessage:
        """The creator sends the fan a PPV offer from the platform's own composer."""
        body = {"text": text, "price_cents": price_cents}
        return self._inject(account, fan, "offers", body, sent_at)

    def purchase(self, message_id: str) -> None:
        """The fan buys the PPV message `message_id`."""
        self._call("POST", f"/_control/messages/{message_id}/purchase")

    def delivered(self, account: AccountRef | None = None) -> list[DeliveredMessage]:
        """Outbound messages in delivery order, with text, cadence and flag status."""
        return _DELIVERED.validate_python(
            self._call("GET", "/_control/delivered", params=_filter(account))
        )

    def messages(self, account: AccountRef) -> list[MessageRecord]:
        """Every message of the account as the platform holds it, by conversation."""
        return _MESSAGES.validate_python(
            self._call("GET", f"/_control/accounts/{_username(account)}/messages")
        )

    def flags(self, account: AccountRef | None = None) -> list[FlagRecord]:
        """Messages the platform flagged as automated, oldest first."""
        return _FLAGS.validate_python(self._call("GET", "/_control/flags", params=_filter(account)))

    def refusals(self, account: AccountRef | None = None) -> list[RefusalRecord]:
        """Sends the platform refused (too fast), oldest first."""
        return _REFUSALS.validate_python(
            self._call("GET", "/_control/refusals", params=_filter(account))
        )

    def expire_sessions(self, account: AccountRef) -> int:
        """End every session of the account; returns how many were live."""
        body = self._call("DELETE", f"/_control/accounts/{_username(account)}/sessions")
        return int(body["expired"])

    def set_guards(
        self, min_send_gap_s: float | None = None, max_graphemes_per_event: int | None = None
    ) -> dict[str, Any]:
        """Change guards until the next reset. `min_send_gap_s` is human seconds: the
        enforced gap is it times the time scale (0.01), so 500 means 5 s."""
        body = {
            "min_send_gap_s": min_send_gap_s,
            "max_graphemes_per_event": max_graphemes_per_event,
        }
        return self._call(
            "PUT", "/_control/guards", json={k: v for k, v in body.items() if v is not None}
        )

    def update_guards(self, **settings: float) -> dict[str, Any]:
        """Change any guard settings by name until the next reset: `min_send_gap_s`,
        `hourly_send_cap`, `actions_per_minute`, `max_graphemes_per_event`,
        `max_chars_per_s`, `min_interval_cv`, `min_intervals` (see `sandbox/control.py`).
        Returns the guards in force, with their scaled windows."""
        return self._call("PUT", "/_control/guards", json=settings)

    def guards(self) -> dict[str, Any]:
        """The guard settings in force, with their scaled windows."""
        return self._call("GET", "/_control/guards")

    def _inject(
        self,
        account: AccountRef,
        fan: FanRef,
        kind: str,
        body: dict[str, Any],
        sent_at: datetime | None,
    ) -> InjectedMessage:
        if sent_at is not None:
            body["sent_at"] = sent_at.isoformat()
        fan_id = fan.fan_id if isinstance(fan, SandboxFan) else fan
        answer = self._call(
            "POST", f"/_control/accounts/{_username(account)}/fans/{fan_id}/{kind}", json=body
        )
        return InjectedMessage(answer["message_id"], answer["conversation_id"], answer["sent_at"])

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, path, **kwargs)
        if response.is_error:
            raise SandboxControlError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


def _username(account: AccountRef) -> str:
    return account.username if isinstance(account, SandboxAccount) else account


def _filter(account: AccountRef | None) -> dict[str, str]:
    return {} if account is None else {"account": _username(account)}
