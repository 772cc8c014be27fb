"""Browser profiles: one TOML file per platform, validated on load.

A profile holds everything the platform driver knows about a site: URLs, Playwright
selectors, how to read rows, and typing and pacing defaults. A new platform with the same
shape of UI is a new file, not new Python.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core.platform.fields import FieldSpec

# The longest message text the fleet handles: what a drafter may write, what a send may
# carry, and what the platforms it drives take.
MAX_TEXT_CHARS = 5000


class ProfileError(ValueError):
    """A profile file is missing, unreadable or invalid; the message names file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Selector = Annotated[str, Field(min_length=1, description="A Playwright selector string.")]

# The schema this module reads. A file without `schema` is version 1 and is migrated on
# load (`_from_v1`): the bundled profiles before schema 2 keep working as they were.
SCHEMA_VERSION = 2


class Urls(_Strict):
    login: str = Field(pattern=r"^/")
    inbox: str = Field(pattern=r"^/")
    thread: str = Field(pattern=r"^/.*\{conversation_id\}")
    purchases: str | None = Field(
        default=None, pattern=r"^/", description="The page listing what fans bought, if any."
    )


class LoginSelectors(_Strict):
    username: Selector = Field(description="The sign-in name field: a username or an email.")
    password: Selector
    submit: Selector
    error: Selector
    logged_in: Selector


class Step(_Strict):
    """One UI action of a declared sequence; it passes the pacer like any other action.

    `selector` and `value` may hold `{media_id}` (in an attach step) or `{price}`."""

    action: Literal["click", "wait_for", "press", "select", "fill", "set_input_files"]
    selector: str = ""
    key: str | None = Field(default=None, description="The key a `press` step presses.")
    value: str | None = Field(
        default=None, description="The option a `select` picks, the text a `fill` sets, the file."
    )

    @model_validator(mode="after")
    def _complete(self) -> Step:
        if self.action == "press":
            if not self.key:
                raise ValueError("a press step needs `key`")
        elif not self.selector:
            raise ValueError(f"a {self.action} step needs `selector`")
        if self.action in ("select", "fill", "set_input_files") and self.value is None:
            raise ValueError(f"a {self.action} step needs `value`")
        return self

    def filled(self, **params: str) -> Step:
        """This step with its `{placeholders}` filled from `params`; other braces (a
        selector may hold them) are left alone."""

        def fill(text: str) -> str:
            for name, value in params.items():
                text = text.replace(f"{{{name}}}", value)
            return text

        return self.model_copy(
            update={
                "selector": fill(self.selector),
                "value": None if self.value is None else fill(self.value),
            }
        )


def _fields_named(fields: dict[str, FieldSpec], required: tuple[str, ...]) -> dict[str, FieldSpec]:
    missing = [name for name in required if name not in fields]
    if missing:
        raise ValueError(f"fields {', '.join(missing)} must be declared")
    for name, spec in fields.items():
        if spec.fallback is not None and spec.fallback not in fields:
            raise ValueError(f"{name}.fallback names {spec.fallback!r}, which is not a field")
        if spec.fallback == name:
            raise ValueError(f"{name}.fallback names the field itself")
    return fields


class InboxSelectors(_Strict):
    """The conversation list. `fields` reads each row: `conversation_id`, `fan_id` and
    `last_message_at` must be declared; `fan_name`, `handle` (the fan's @handle), `preview`
    and `unread` may be; any other name is a helper field another one falls back to."""

    ready: str | None = Field(
        default=None,
        description="Present once the list is loaded; without it, rows or `empty` mean loaded.",
    )
    empty: str | None = Field(
        default=None, description="Shown when there are no conversations at all."
    )
    item: Selector
    load_more: Selector
    fields: dict[str, FieldSpec]

    @field_validator("fields")
    @classmethod
    def _declared(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        return _fields_named(fields, ("conversation_id", "fan_id", "last_message_at"))


class SendConfirmation(_Strict):
    """How the page shows that a send went through.

    - `attribute`: `attribute` of `thread.container` changes, to the new message's id;
    - `new_item`: a new outbound message with our text appears in the thread;
    - `composer_empty`: the composer empties (and then the new message is read);
    - `response`: the page's request to `url` (a glob) answers `status`.
    """

    mode: Literal["attribute", "new_item", "composer_empty", "response"]
    attribute: str | None = None
    url: str | None = None
    status: int = Field(default=201, ge=100, le=599)

    @model_validator(mode="after")
    def _complete(self) -> SendConfirmation:
        if self.mode == "attribute" and not self.attribute:
            raise ValueError("mode attribute needs `attribute`")
        if self.mode == "response" and not self.url:
            raise ValueError("mode response needs `url`")
        return self


class PurchasesSelectors(_Strict):
    """The platform's list of what fans bought (`urls.purchases`). `fields` reads each
    row: `message_id` (the PPV message bought) must be declared; `conversation_id`,
    `amount_cents` and `purchased_at` may be."""

    ready: str | None = Field(default=None, description="Present once the list is loaded.")
    empty: str | None = Field(default=None, description="Shown when nothing was bought yet.")
    item: Selector
    fields: dict[str, FieldSpec]

    @field_validator("fields")
    @classmethod
    def _declared(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        return _fields_named(fields, ("message_id",))


class ThreadSteps(_Strict):
    """UI sequences the send runs at fixed points."""

    before_price: tuple[Step, ...] = Field(
        default=(), description="Before the price is typed (a click that reveals its input)."
    )
    before_media: tuple[Step, ...] = Field(
        default=(), description="Once before media is attached (open the vault)."
    )
    attach_media: tuple[Step, ...] = Field(
        default=(), description="Once per media item, with `{media_id}` filled."
    )
    after_media: tuple[Step, ...] = Field(
        default=(), description="Once after media is attached (close the vault)."
    )
    after_send: tuple[Step, ...] = Field(default=(), description="After a confirmed send.")


class ThreadSelectors(_Strict):
    """One conversation. `fields` reads each message: `message_id`, `direction`, `text`
    and `sent_at` must be declared; `tip_cents`, `ppv_price_cents` and `ppv_paid` may be."""

    ready: str | None = Field(
        default=None,
        description="Present once the thread is loaded; without it, messages or `empty` do.",
    )
    empty: str | None = Field(default=None, description="Shown when the thread has no messages.")
    item: Selector
    container: Selector
    composer: Selector
    price: str | None = Field(
        default=None, description="The PPV price input; without it the profile sends no PPV."
    )
    send: Selector
    confirm: SendConfirmation
    steps: ThreadSteps = ThreadSteps()
    throttle_banner: Selector
    inbound_value: str = Field(min_length=1)
    outbound_value: str = Field(min_length=1)
    fields: dict[str, FieldSpec]

    @field_validator("fields")
    @classmethod
    def _declared(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        return _fields_named(fields, ("message_id", "direction", "text", "sent_at"))


class TypingProfile(_Strict):
    """Parameters of the human typing model. Seconds are human time, before time scaling."""

    chars_per_minute: float = Field(default=220, gt=0)
    cpm_spread: float = Field(default=0.15, ge=0, lt=1)
    key_sigma: float = Field(
        default=0.45,
        ge=0,
        le=2,
        description="Log-normal sigma of key times; people type with 0.4-0.5, and much less"
        " reads as a script to a platform measuring how regular the keys are.",
    )
    min_key_delay_s: float = Field(default=0.03, ge=0)
    max_key_delay_s: float = Field(default=1.2, gt=0)
    shift_key_factor: float = Field(
        default=1.3, ge=1, description="Key time multiplier for keys typed with Shift."
    )
    digit_key_factor: float = Field(
        default=1.15, ge=1, description="Key time multiplier for digits (top row, a reach)."
    )
    word_pause_s: float = Field(default=0.12, ge=0)
    punctuation_pause_s: float = Field(default=0.35, ge=0)
    typo_rate: float = Field(
        default=0.02,
        ge=0,
        le=0.5,
        description="Chance that a letter outside numbers, prices and URLs is first mistyped"
        " as a QWERTY neighbour, then erased with Backspace and typed again.",
    )
    typo_notice_s: float = Field(
        default=0.4, ge=0, description="Mean pause to notice a typo before pressing Backspace."
    )
    think_base_s: float = Field(default=1.0, ge=0)
    think_per_char_s: float = Field(default=0.02, ge=0)
    think_max_s: float = Field(default=8.0, ge=0)
    dwell_min_s: float = Field(default=0.5, ge=0)
    dwell_max_s: float = Field(default=2.0, ge=0)
    newline_key: str = Field(default="Shift+Enter", min_length=1)

    @model_validator(mode="after")
    def _bounds(self) -> TypingProfile:
        if self.min_key_delay_s > self.max_key_delay_s:
            raise ValueError("min_key_delay_s must not exceed max_key_delay_s")
        if self.dwell_min_s > self.dwell_max_s:
            raise ValueError("dwell_min_s must not exceed dwell_max_s")
        return self


class PacingProfile(_Strict):
    """Per-account budgets, in human time before time scaling."""

    min_send_gap_s: float = Field(default=3.0, ge=0)
    sends_per_hour: int = Field(default=120, gt=0)
    actions_per_minute: int = Field(default=60, gt=0)
    daily_send_cap: int = Field(default=1000, gt=0)


class ThrottleProfile(_Strict):
    """How the platform says "slow down", and how the fleet answers. The banner selector is
    `thread.throttle_banner`; seconds are human time, before time scaling."""

    statuses: tuple[int, ...] = Field(
        default=(429,), description="HTTP statuses of the page's own requests that mean throttled."
    )
    backoff_base_s: float = Field(default=60.0, gt=0, description="First backoff.")
    backoff_max_s: float = Field(default=1800.0, gt=0, description="Longest backoff.")
    pause_after: int = Field(
        default=3, ge=1, description="Signals within `window_s` that pause the account for good."
    )
    window_s: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> ThrottleProfile:
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError("backoff_base_s must not exceed backoff_max_s")
        return self


class RevenueProfile(_Strict):
    """How a sweep keeps revenue true when money lands on old messages: a purchase changes
    an old message, not the inbox, so nothing else would show it."""

    source: Literal["recheck", "purchases", "both"] = Field(
        default="recheck",
        description="`recheck`: every sweep reads again each thread holding an unpaid PPV "
        "offer; `purchases`: it reads the platform's purchases page (`urls.purchases`) and "
        "reads again only the threads whose offers were bought; `both`.",
    )
    recheck_unpaid_days: float = Field(
        default=7.0,
        ge=0,
        le=365,
        description="PPVs we offered within this many days (wall clock) and the fan has not "
        "paid are looked for, by either source. 0: never.",
    )


class PacingOverrides(_Strict):
    """An account's own budgets; a field left unset keeps the profile's default."""

    # Set through the API: a budget is a JSON number, never `true` or `"60"`.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    min_send_gap_s: float | None = Field(default=None, ge=0)
    sends_per_hour: int | None = Field(default=None, gt=0)
    actions_per_minute: int | None = Field(default=None, gt=0)
    daily_send_cap: int | None = Field(default=None, gt=0)

    def apply(self, defaults: PacingProfile) -> PacingProfile:
        """The budgets in force: `defaults` with this account's overrides on top."""
        return defaults.model_copy(update=self.model_dump(exclude_none=True))


class BrowserProfile(_Strict):
    """One platform, as the driver sees it."""

    schema_version: int = Field(
        default=SCHEMA_VERSION, alias="schema", ge=SCHEMA_VERSION, le=SCHEMA_VERSION
    )
    name: str = Field(min_length=1, pattern=r"^[a-z0-9_-]+$")
    session: Literal["single", "multi"] = Field(
        default="multi",
        description="`single`: a login ends the account's other sessions, so a worker takes "
        "the account's stored session before it would log in, and stores its own login at "
        "once (logins of one account are one at a time fleet-wide: the account lease).",
    )
    base_url: str = Field(pattern=r"^https?://")
    timezone: str = Field(
        default="UTC",
        description="The zone (IANA name) the platform prints times in when it gives no "
        'offset; relative times ("Yesterday 14:02") are read in it too.',
    )
    urls: Urls
    login: LoginSelectors
    inbox: InboxSelectors
    thread: ThreadSelectors
    typing: TypingProfile = TypingProfile()
    pacing: PacingProfile = PacingProfile()
    throttle: ThrottleProfile = ThrottleProfile()
    revenue: RevenueProfile = RevenueProfile()
    purchases: PurchasesSelectors | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r}; give an IANA name like Europe/Berlin"
            ) from None
        return name

    @model_validator(mode="after")
    def _purchases_page(self) -> BrowserProfile:
        wants = self.revenue.source in ("purchases", "both")
        if wants and (self.purchases is None or self.urls.purchases is None):
            raise ValueError(
                f"revenue.source {self.revenue.source!r} needs urls.purchases and [purchases]"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The platform's time zone."""
        return ZoneInfo(self.timezone)

    def url(self, page: str, base_url: str | None = None, **params: str) -> str:
        """Absolute URL of `page` ("login", "inbox", "thread" or "purchases") on `base_url`
        or the default."""
        path: str = getattr(self.urls, page).format(**params)
        return (base_url or self.base_url).rstrip("/") + path


def load_profile(path: Path) -> BrowserProfile:
    """Read and validate a profile file; raise `ProfileError` naming file, field and problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(f"{path}: profile file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    if "schema" not in data:
        data = _from_v1(data)
    try:
        return BrowserProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ProfileError(f"{path}: invalid profile: {problems}") from exc


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version 1 profile as version 2: its `text` source kept line breaks (it is
    `inner_text` now), a field it could not find read as empty (only the keys a row needs
    must be there now), and its send was confirmed by `thread.sent_ack_attr`."""
    migrated = {**data, "schema": SCHEMA_VERSION}
    for section in ("inbox", "thread"):
        part = data.get(section)
        if not isinstance(part, dict):
            continue
        part = {**part}
        fields = part.get("fields")
        if isinstance(fields, dict):
            part["fields"] = {name: _field_from_v1(name, spec) for name, spec in fields.items()}
        if section == "thread" and "sent_ack_attr" in part:
            part["confirm"] = {"mode": "attribute", "attribute": part.pop("sent_ack_attr")}
        migrated[section] = part
    return migrated


_V1_KEYS = frozenset({"conversation_id", "fan_id", "message_id", "direction"})


def _field_from_v1(name: str, spec: object) -> object:
    if not isinstance(spec, dict):
        return spec
    field = {**spec, "optional": name not in _V1_KEYS}
    if field.get("source") == "text":
        field["source"] = "inner_text"
    return field


def profile_path(profiles_dir: Path, name: str) -> Path:
    """The file of profile `name` in `profiles_dir`."""
    return profiles_dir / f"{name}.toml"


@lru_cache(maxsize=64)
def named_profile(profiles_dir: Path, name: str) -> BrowserProfile:
    """Profile `name` from `profiles_dir`, loaded and validated once per process."""
    return load_profile(profile_path(profiles_dir, name))


def load_profiles(profiles_dir: Path) -> dict[str, BrowserProfile]:
    """Every profile in `profiles_dir`, by name, each validated: what a process checks at
    start-up, so that a broken profile stops it with one line instead of failing every job
    of its accounts. `ProfileError` names the first file that does not load, or the folder
    when it holds none."""
    files = sorted(profiles_dir.glob("*.toml")) if profiles_dir.is_dir() else []
    if not files:
        raise ProfileError(f"{profiles_dir}: no profiles (*.toml) there; set FLEET_PROFILES_DIR")
    return {path.stem: named_profile(profiles_dir, path.stem) for path in files}
