"""Errors on console pages answer as a page a person can act on, with the reason the API
would give; the API itself keeps answering JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.db import Database
from tests.helpers.console import browser, make_user, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def mia(app: FastAPI, db: Database) -> Iterator[TestClient]:
    """A browser signed in to the console."""
    make_user(db)
    with browser(app) as client:
        assert sign_in(client) == 303
        yield client


def _is_page(response_type: str) -> bool:
    return response_type.startswith("text/html")


def test_a_stale_form_is_answered_with_a_page_saying_to_reload(mia: TestClient) -> None:
    stale = mia.post("/console/sign-out", data={"csrf": "stale"})
    assert stale.status_code == 403
    assert _is_page(stale.headers["content-type"])
    assert "csrf: the form&#39;s token is missing or stale" in stale.text
    assert "Reload the page and try again" in stale.text


def test_a_bad_filter_is_answered_with_a_page_naming_the_field(mia: TestClient) -> None:
    bad = mia.get("/console", params={"tier": "platinum"})
    assert bad.status_code == 422
    assert _is_page(bad.headers["content-type"])
    assert "query.tier:" in bad.text


def test_an_unknown_draft_is_answered_with_a_page(mia: TestClient) -> None:
    unknown = mia.get("/console/drafts/999")
    assert unknown.status_code == 404
    assert _is_page(unknown.headers["content-type"])
    assert "draft 999 not found" in unknown.text
    assert '<a href="/console">Back to the queue</a>' in unknown.text


def test_the_api_keeps_answering_json(app: FastAPI) -> None:
    with browser(app) as client:
        missing = client.get("/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
