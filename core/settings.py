"""Every setting of the fleet, in one place, read from `FLEET_*` variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The largest CSV import any deployment may allow: the API schema's bound on a file.
MAX_IMPORT_BYTES_CEILING = 256 * 1_048_576


class Settings(BaseSettings):
    """Fleet settings. Each field maps to `FLEET_<NAME>` (OpenAI ones also to `OPENAI_*`)."""

    model_config = SettingsConfigDict(
        env_prefix="FLEET_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///var/fleet.db",
        description="SQLAlchemy URL of the control plane's database.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL. Unset: the CLI starts a private redis-server on a free port.",
    )
    redis_key_prefix: str = Field(
        default="fleet:", description="Prefix of every Redis key the fleet owns (RQ's aside)."
    )
    chromium_path: str = Field(default="/usr/bin/chromium", description="Chromium executable.")
    chromium_sandbox: bool | None = Field(
        default=None,
        description="Chromium's own sandbox; unset: on, except as root (where Chromium will "
        "not run with it). Off only where the host forbids the user namespaces it needs.",
    )
    headless: bool = True
    api_url: str = Field(default="http://127.0.0.1:8700", description="Control plane base URL.")
    api_host: str = "127.0.0.1"
    api_port: int = 8700
    worker_token: str | None = Field(
        default=None, description="API key with the worker role, used by browser workers."
    )
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="Multiplies every human delay and pacing window (0.01 in tests).",
    )
    profiles_dir: Path = Field(default=Path("browser_profiles"))
    var_dir: Path = Field(default=Path("var"), description="Local state: SQLite, artifacts.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) sealing platform credentials at rest, comma-separated, "
        "the sealing one first (`core.crypto`).",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="A file of Fernet keys, one a line, used when `secret_key` is unset; "
        "with neither, var/secret.key is made on first use.",
    )
    job_timeout_s: int = Field(default=600, gt=0, description="RQ job timeout for browser jobs.")
    lease_ttl_s: float = Field(default=60.0, gt=0, description="Account lease TTL (unscaled).")
    contexts_recycle_every: int = Field(default=50, gt=0, description="Jobs per context.")
    page_timeout_s: float = Field(
        default=30.0, gt=0, description="How long the driver waits for a page or element."
    )
    job_trace: Literal["off", "snapshots", "screenshots"] = Field(
        default="snapshots",
        description="What a browser job records for its failure trace: nothing (a failure "
        "still keeps a screenshot), the DOM at each action, or that and a filmstrip, which "
        "more than doubles the CPU a keystroke costs.",
    )
    browser_restart_every: int = Field(
        default=500, gt=0, description="Jobs before a worker relaunches its Chromium."
    )
    browser_max_age_s: float = Field(
        default=6 * 3600, gt=0, description="Wall-clock age at which Chromium is relaunched."
    )
    memory_watermark_mb: int = Field(
        default=1500,
        gt=0,
        description="RSS of a worker and its Chromium above which it stops taking jobs "
        "and exits for its supervisor to restart it.",
    )
    ingest_batch_size: int = Field(default=50, gt=0)
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="The largest request body the API reads; a larger one answers 413.",
    )
    max_worker_body_bytes: int = Field(
        default=4_194_304,
        ge=1024,
        le=64 * 1_048_576,
        description="The same for the worker routes, which carry ingest batches and browser "
        "session state.",
    )
    max_import_bytes: int = Field(
        default=32 * 1_048_576,
        ge=1024,
        le=MAX_IMPORT_BYTES_CEILING,
        description="The same for a CSV import (`POST /v1/fans/import`): 100,000 fans' tags "
        "and notes fit in the default.",
    )
    retry_base_s: float = Field(
        default=5.0,
        gt=0,
        description="Backoff before a send's second attempt (unscaled); doubles per attempt.",
    )
    max_attempts: int = Field(default=3, ge=1, le=20, description="Attempts per send.")
    reconcile_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=10,
        description="Seconds between reconciler passes (unscaled; at most 10 so a send whose "
        "lease expired is recovered within 30 s).",
    )
    heartbeat_ttl_s: float = Field(
        default=30.0, gt=0, description="How long a worker heartbeat stays current (unscaled)."
    )
    sweep_every_s: float = Field(
        default=900.0,
        ge=1,
        description="How often the scheduler sweeps each active account (unscaled), unless "
        "its policy says otherwise.",
    )
    scheduler_tick_s: float = Field(
        default=60.0,
        ge=1,
        description="How often the scheduler looks for accounts due a sweep (unscaled).",
    )
    nudge_every_s: float = Field(
        default=3600.0,
        ge=1,
        description="How often the scheduler runs the nudge pass over every account with "
        "nudges on (unscaled).",
    )
    failure_window_s: float = Field(
        default=3600.0,
        gt=0,
        description="Failed jobs this recent (unscaled) make the fleet unhealthy, by error "
        "class and by account.",
    )
    console_session_s: float = Field(
        default=43_200.0,
        gt=0,
        description="How long a console sign-in lasts, in real seconds (12 hours).",
    )
    console_secure_cookie: bool = Field(
        default=True,
        description="The console's session cookie goes over HTTPS only (browsers take it "
        "from http://localhost too). Off only to serve the console over plain HTTP.",
    )
    sign_in_failures: int = Field(
        default=5,
        ge=1,
        description="Failed console sign-ins allowed per name, and per address, in a "
        "FLEET_SIGN_IN_WINDOW_S; more are refused before the password is checked.",
    )
    sign_in_window_s: float = Field(
        default=900.0, gt=0, description="The window failed sign-ins are counted in (real s)."
    )
    api_docs: bool = Field(
        default=True,
        description="Serve /docs, /redoc and /openapi.json without a key (the schema only; "
        "every call still needs one).",
    )
    max_job_wait_s: float = Field(
        default=600.0,
        gt=0,
        description="A job waiting longer than this (unscaled) makes the fleet unhealthy.",
    )
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 8710
    sandbox_db: Path = Field(default=Path("var/sandbox.db"))
    sandbox_skin: Literal["fanbox", "velvet"] = Field(
        default="fanbox",
        description="Which bundled platform `fleet sandbox` serves: fanbox (profile "
        "`sandbox`) or velvet (profile `velvet`).",
    )
    sandbox_control: bool = Field(
        default=False, description="Serve the sandbox's control API (demo and tests only)."
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: one JSON object per line from every process (fields, RQ's and "
        "uvicorn's own lines included), for a log shipper or a program reading them.",
    )
    log_debug_content: bool = Field(
        default=False,
        description="Allow message text in logs. Off: text and credentials are never logged.",
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("FLEET_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("FLEET_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("FLEET_OPENAI_MODEL", "OPENAI_MODEL")
    )
    openai_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="Seconds one chat-completion request may take before it counts as failed.",
        validation_alias=AliasChoices("FLEET_OPENAI_TIMEOUT_S", "OPENAI_TIMEOUT_S"),
    )
    openai_max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of a failed request (429, 5xx, timeout) before the offline fallback.",
        validation_alias=AliasChoices("FLEET_OPENAI_MAX_RETRIES", "OPENAI_MAX_RETRIES"),
    )
    draft_prompt_token_budget: int = Field(
        default=2000,
        ge=200,
        description="Approximate prompt size (tokens = chars / 4) a draft's context is trimmed to.",
    )
    draft_variants: int = Field(
        default=3, ge=1, le=5, description="Alternative texts each draft offers the operator."
    )
    review_lock_s: float = Field(
        default=300.0,
        gt=0,
        description="How long an operator's claim on a draft holds before it lapses (unscaled).",
    )
    ai_daily_token_cap: int | None = Field(
        default=5_000_000,
        ge=0,
        description="LLM tokens (prompt + completion) the whole fleet may spend per UTC day; "
        "past it every draft is written offline. None (an empty variable): no fleet-wide "
        "cap; 0: no LLM tokens at all.",
    )
    ai_account_daily_token_cap: int | None = Field(
        default=1_000_000,
        ge=0,
        description="LLM tokens one account may spend per UTC day unless its approval policy "
        "sets `daily_token_cap`; past it the account's drafts are written offline. None (an "
        "empty variable): no cap; 0: no LLM tokens at all.",
    )
    ai_operator_requests_per_hour: int = Field(
        default=30,
        ge=0,
        description="LLM calls one operator may cause in any hour, by redrafts and the nudge "
        "passes they queue; past it their drafts are written offline.",
    )
    ai_price_prompt_per_1k_usd: float = Field(
        default=0.00015,
        ge=0,
        description="USD per 1,000 prompt tokens, for the analytics cost estimate only "
        "(default: gpt-4o-mini's list price).",
    )
    ai_price_completion_per_1k_usd: float = Field(
        default=0.0006,
        ge=0,
        description="USD per 1,000 completion tokens, for the analytics cost estimate only "
        "(default: gpt-4o-mini's list price).",
    )

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @field_validator("ai_daily_token_cap", "ai_account_daily_token_cap", mode="before")
    @classmethod
    def _empty_is_no_cap(cls, value: object) -> object:
        # An environment variable cannot be None, so `FLEET_AI_DAILY_TOKEN_CAP=` says it.
        # Per field, not `env_parse_none_str`: that would make every empty variable None,
        # and 0 already means something (no LLM tokens at all).
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def scaled(self, seconds: float) -> float:
        """Return a human-time duration scaled by `time_scale`."""
        return seconds * self.time_scale


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
