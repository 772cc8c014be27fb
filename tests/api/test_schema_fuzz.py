"""schemathesis against the app, on PostgreSQL, with every check: no input the schema
allows (or a mutation of it) gets a 5xx, and every answer matches the schema.

PostgreSQL only: it refuses what SQLite lets through (a NUL byte in text, an integer past
its column's range), so an input that breaks the API breaks it there. Every route's own
tests run on both databases."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from core.settings import Settings
from tests.fixtures.control_plane import emptied_postgres
from tests.helpers.stores import TEST_REDIS_URL

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres]

# Enough examples per operation to find a 5xx the schema invites, few enough that the
# whole API is fuzzed in about a minute.
EXAMPLES = 8


def _routes_schema() -> dict[str, Any]:
    # The schema depends on the routes alone: any app's will do to collect the tests.
    folder = Path(tempfile.mkdtemp(prefix="fleet-schema-"))
    settings = Settings(database_url=f"sqlite:///{folder / 'x.db'}", redis_url=TEST_REDIS_URL)
    return create_app(settings).openapi()


ROUTES_SCHEMA = _routes_schema()
schema = schemathesis.openapi.from_dict(ROUTES_SCHEMA)


def _is_time(field: dict[str, Any]) -> bool:
    return field.get("format") == "date-time" or any(_is_time(f) for f in field.get("anyOf", []))


# Operations taking a time in the query: its year must be 2000 to 2100, a rule no JSON
# schema states of a date-time, so a time the schema allows may be refused (422, named).
TIMES_IN_THE_QUERY = frozenset(
    (method.upper(), path)
    for path, operations in ROUTES_SCHEMA["paths"].items()
    for method, operation in operations.items()
    if any(_is_time(parameter["schema"]) for parameter in operation.get("parameters", []))
)


@pytest.fixture
def database_url(postgres_server_url: str) -> str:
    """The session's PostgreSQL database, emptied (see the module doc)."""
    return emptied_postgres(postgres_server_url)


# Operations with rules a JSON schema cannot state, each a 422 that names them: across
# fields (a follow-up sooner than a re-engagement, `account_id` or `all`, `override_reason`
# only with `override`, `days` or `since`/`until`, a spend or activity range, tags replaced
# or added, `overdue` for pending drafts only), on a time's year (2000 to 2100), or inside
# a CSV file. Data the schema allows may break them, so only the check that it is accepted
# is left out.
RULES_BEYOND_THE_SCHEMA = frozenset(
    {
        ("POST", "/v1/accounts"),
        ("PATCH", "/v1/accounts/{account_id}"),
        ("POST", "/v1/sweeps"),
        ("POST", "/v1/drafts/{draft_id}/approve"),
        ("POST", "/v1/sends"),
        ("GET", "/v1/drafts"),
        ("GET", "/v1/analytics/ai"),
        ("GET", "/v1/analytics/revenue"),
        ("GET", "/v1/analytics/operators"),
        ("GET", "/v1/analytics/revenue/export"),
        ("GET", "/v1/fans"),
        ("GET", "/v1/fans/export"),
        ("PATCH", "/v1/fans/{fan_id}"),
        ("POST", "/v1/fans/import"),
        ("POST", "/v1/segments"),
        ("POST", "/v1/campaigns"),
        ("PATCH", "/v1/segments/{segment_id}"),
        ("GET", "/v1/audit"),
        ("POST", "/v1/worker/ingest"),
    }
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_breaks_the_api_or_its_schema(
    case: Any,
    app: FastAPI,
    admin: dict[str, str],
    worker: dict[str, str],
    account: dict[str, Any],
) -> None:
    # Every request goes to this test's app, the checks' own probes included.
    case.operation.schema.app = app
    case.operation.app = app
    # Worker routes take worker keys, every other route an admin's.
    headers = worker if case.path.startswith("/v1/worker/") else admin
    # A cursor is opaque: a string the schema allows is rarely one a listing wrote.
    forged_cursor = "cursor" in (case.query or {})
    excluded = (
        [positive_data_acceptance]
        if (case.method.upper(), case.path) in RULES_BEYOND_THE_SCHEMA | TIMES_IN_THE_QUERY
        or forged_cursor
        else []
    )
    case.call_and_validate(headers=headers, app=app, excluded_checks=excluded)
