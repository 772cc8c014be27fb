"""Account bodies. No response carries the password or the saved browser session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from api.schemas.common import FieldError, RequestBody, ResponseBody, VisibleName, examples
from core.clock import zone_named
from core.crm.accounts import AccountChanges, PacingView
from core.db import StoredProblem
from core.drafting.persona import Persona
from core.enums import AccountStatus
from core.guardrails.policy import ApprovalPolicy
from core.models import Account
from core.platform.profiles import PacingOverrides, PacingProfile

Name = VisibleName
Username = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=500)]
ProfileName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,100}$")]
BaseUrl = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=500)]


def _known_zone(name: str) -> str:
    zone_named(name)
    return name


TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_zone)]


class Credentials(RequestBody):
    model_config = examples({"username": "mia@example.com", "password": "a long passphrase"})
    username: Username
    password: Password


class AccountCreate(RequestBody):
    model_config = examples(
        {
            "name": "Mia",
            "username": "mia",
            "password": "a long passphrase",
            "profile": "sandbox",
            "persona": {"name": "Mia", "tone": "playful"},
        }
    )
    name: Name = Field(description="What operators call the account (the creator's name).")
    username: Username = Field(description="The name the account signs in with on the platform.")
    password: Password = Field(
        description="The platform password; sealed at rest, handed only to the worker "
        "holding the account's lease, never shown again."
    )
    profile: ProfileName = Field(
        default="sandbox", description="The browser profile of the account's platform."
    )
    base_url: BaseUrl | None = Field(default=None, description="Overrides the profile's URL.")
    persona: Persona = Field(
        default_factory=Persona, description="Who the drafts speak as: name, tone, notes."
    )
    auto_send: bool = Field(
        default=False,
        description="Send drafts the approval policy allows without an operator; off until "
        "the account opts in.",
    )
    pacing: PacingOverrides = Field(
        default_factory=PacingOverrides, description="Budgets over the profile's defaults."
    )
    policy: ApprovalPolicy | None = Field(
        default=None, description="The approval policy; absent fields (or all) default."
    )
    time_zone: TimeZoneName = Field(
        default="UTC",
        description="The creator's IANA time zone: campaigns in account time go out by it.",
    )


def _without_null(schema: dict[str, Any]) -> None:
    choices = [choice for choice in schema.pop("anyOf", []) if choice.get("type") != "null"]
    if len(choices) == 1:
        schema.update(choices[0])
    elif choices:
        schema["anyOf"] = choices


# A field that may be left out but not set to null: the schema does not offer null, and a
# null sent anyway is refused by name (`_something_to_change`).
NOT_NULL = Field(json_schema_extra=_without_null)


class AccountUpdate(RequestBody):
    """Fields to change; absent fields stay. Only `base_url` may be set to null."""

    model_config = examples({"pacing": {"sends_per_hour": 60}, "auto_send": False})

    name: Annotated[Name | None, NOT_NULL, Field(description="A new display name.")] = None
    profile: Annotated[
        ProfileName | None, NOT_NULL, Field(description="Another browser profile.")
    ] = None
    base_url: BaseUrl | None = Field(
        default=None, description="Overrides the profile's URL; null goes back to it."
    )
    credentials: Annotated[
        Credentials | None,
        NOT_NULL,
        Field(description="New sign-in details; an account that needs a login resumes."),
    ] = None
    persona: Annotated[
        Persona | None, NOT_NULL, Field(description="Replaces the drafts' persona.")
    ] = None
    auto_send: Annotated[
        bool | None, NOT_NULL, Field(description="Opt in (or out) of sending without approval.")
    ] = None
    # An enum arrives as its JSON string: strictness would ask for the Python member.
    status: Annotated[
        Annotated[AccountStatus, Field(strict=False)] | None,
        NOT_NULL,
        Field(description="`paused` holds its jobs; `active` resumes them."),
    ] = None
    pacing: Annotated[
        PacingOverrides | None, NOT_NULL, Field(description="Replaces the budget overrides.")
    ] = None
    policy: Annotated[ApprovalPolicy | None, NOT_NULL] = Field(
        default=None, description="Replaces the whole approval policy; absent fields default."
    )
    time_zone: Annotated[
        TimeZoneName | None, NOT_NULL, Field(description="Another IANA time zone.")
    ] = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        nulls = sorted(
            f for f in self.model_fields_set if f != "base_url" and getattr(self, f) is None
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> AccountChanges:
        """The update as the account service takes it."""
        changes: AccountChanges = {}
        if self.name is not None:
            changes["name"] = self.name
        if self.profile is not None:
            changes["profile"] = self.profile
        if "base_url" in self.model_fields_set:
            changes["base_url"] = self.base_url
        if self.credentials is not None:
            changes["username"] = self.credentials.username
            changes["password"] = self.credentials.password
        if self.persona is not None:
            changes["persona"] = self.persona
        if self.auto_send is not None:
            changes["auto_send"] = self.auto_send
        if self.status is not None:
            changes["status"] = self.status
        if self.pacing is not None:
            changes["pacing"] = self.pacing
        if self.policy is not None:
            changes["policy"] = self.policy
        if self.time_zone is not None:
            changes["time_zone"] = self.time_zone
        return changes


class AccountOut(ResponseBody):
    """An account. `problems` names stored settings that no longer hold (JSON an older
    release or a hand edit left invalid, which reads as its defaults meanwhile, or a
    profile the fleet no longer has), like a 422's errors: fix them with PATCH."""

    id: int
    name: str
    profile: str
    base_url: str | None
    username: str
    status: AccountStatus
    persona: Persona
    auto_send: bool
    pacing: PacingOverrides
    policy: ApprovalPolicy
    time_zone: str
    has_session: bool
    last_sweep_at: datetime | None
    created_at: datetime
    problems: list[FieldError] = []

    @classmethod
    def of(cls, account: Account, problems: Sequence[StoredProblem] = ()) -> AccountOut:
        """The response body of `account` with its stored problems."""
        out = cls.model_validate(account)
        out.problems = [FieldError.of(problem) for problem in problems]
        return out


class PacingUse(ResponseBody):
    """What the account has used of its budgets, counted in Redis by every worker."""

    sends_last_hour: int
    sends_last_day: int
    actions_last_minute: int


class AccountPacing(ResponseBody):
    """An account's budgets (human seconds, before time scaling), its overrides, what it
    has used, and how long until the next send and action are allowed (real seconds)."""

    account_id: int
    budgets: PacingProfile
    overrides: PacingOverrides
    time_scale: float
    used: PacingUse
    next_send_in_s: float
    next_action_in_s: float
    paused_for_s: float

    @classmethod
    def of(cls, view: PacingView) -> AccountPacing:
        """The pacing view of one account."""
        status = view.status
        return cls(
            account_id=view.account_id,
            budgets=view.budgets,
            overrides=view.overrides,
            time_scale=view.time_scale,
            used=PacingUse.model_validate(status),
            next_send_in_s=status.next_send_in_s,
            next_action_in_s=status.next_action_in_s,
            paused_for_s=status.paused_for_s,
        )


class NudgePassOut(ResponseBody):
    """A nudge pass queued on the `ai` queue. Its drafts join the approval queue as they
    are written."""

    job_id: str = Field(description="The pass's RQ job: one per account.")
    queued: bool = Field(
        description="Whether this request queued it; false when a pass over the account was "
        "already waiting or running, which this request joins."
    )
