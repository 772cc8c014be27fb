"""The console's pages over HTTP: no page without a session, sign-in and sign-out by form,
every form checked for its CSRF token, and the queue as the API orders it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI

from api.console.auth import SESSION_COOKIE
from api.console.live import SIGNED_OUT
from core.db import Database
from core.models import ConsoleSession
from core.settings import Settings
from tests.helpers.console import PASSWORD, browser, form_token, make_user, sign_in
from tests.helpers.seeding import Line, seed, seed_draft

# The pages are thin over `core`, whose own tests and the API's run on both databases:
# one will do here.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_request_without_a_session_gets_the_sign_in_page(app: FastAPI) -> None:
    with browser(app) as client:
        response = client.get("/console")
        assert response.url.path == "/console/sign-in"
        assert '<form method="post" action="/console/sign-in">' in response.text


def test_signing_in_sets_a_secure_http_only_cookie_and_opens_the_queue(
    app: FastAPI, db: Database
) -> None:
    make_user(db)
    with browser(app) as client:
        token = form_token(client.get("/console/sign-in").text)
        response = client.post(
            "/console/sign-in",
            data={"name": "mia", "password": PASSWORD, "csrf": token},
            follow_redirects=False,
        )
        assert (response.status_code, response.headers["location"]) == (303, "/console")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert all(flag in cookie for flag in ("HttpOnly", "Secure", "Path=/console"))
        assert "samesite=lax" in cookie.lower()
        assert "Approval queue" in client.get("/console").text


def test_a_wrong_password_and_a_missing_field_are_answered_on_the_form(
    app: FastAPI, db: Database
) -> None:
    make_user(db)
    with browser(app) as client:
        token = form_token(client.get("/console/sign-in").text)
        wrong = client.post(
            "/console/sign-in", data={"name": "mia", "password": "nope-nope-nope", "csrf": token}
        )
        assert wrong.status_code == 401
        assert "that name and password do not match" in wrong.text
        missing = client.post("/console/sign-in", data={"name": "mia", "csrf": token})
        assert missing.status_code == 400
        assert "password: required" in missing.text
        assert SESSION_COOKIE not in client.cookies


def test_sign_in_is_refused_past_the_failures_allowed(
    app: FastAPI, db: Database, settings: Settings
) -> None:
    make_user(db)
    with browser(app) as client:
        for _ in range(settings.sign_in_failures):
            assert sign_in(client, password="not-the-password") == 401
        refused = client.post(
            "/console/sign-in",
            data={
                "name": "mia",
                "password": PASSWORD,
                "csrf": form_token(client.get("/console/sign-in").text),
            },
        )
        assert refused.status_code == 429
        assert "too many failed sign-ins" in refused.text


def test_a_sign_in_form_without_its_token_is_refused(app: FastAPI, db: Database) -> None:
    make_user(db)
    with browser(app) as client:
        client.get("/console/sign-in")
        forged = client.post(
            "/console/sign-in", data={"name": "mia", "password": PASSWORD, "csrf": "forged"}
        )
        assert forged.status_code == 403
        assert SESSION_COOKIE not in client.cookies


def test_signing_out_needs_the_sessions_token_and_ends_the_session(
    app: FastAPI, db: Database
) -> None:
    make_user(db)
    with browser(app) as client:
        assert sign_in(client) == 303
        token = form_token(client.get("/console").text)
        assert client.post("/console/sign-out", data={"csrf": "forged"}).status_code == 403
        stolen = client.cookies[SESSION_COOKIE]
        out = client.post("/console/sign-out", data={"csrf": token}, follow_redirects=False)
        assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
        # The old cookie, replayed, opens nothing: the session ended on the server.
        client.cookies.set(SESSION_COOKIE, stolen, domain="testserver", path="/console")
        assert client.get("/console").url.path == "/console/sign-in"


def test_an_expired_session_gets_the_sign_in_page(app: FastAPI, db: Database) -> None:
    make_user(db)
    with browser(app) as client:
        assert sign_in(client) == 303
        with db.session() as session:
            opened = session.query(ConsoleSession).one()
            opened.expires_at = opened.created_at - timedelta(seconds=1)
            session.commit()
        assert client.get("/console").url.path == "/console/sign-in"


def test_the_queue_shows_each_pending_draft_with_its_wait_kind_and_reasons(
    app: FastAPI, db: Database
) -> None:
    seeded = seed(db, [Line("inbound", "hey you <3")])
    seed_draft(db, seeded, "Hi Sam <b>bold</b>\nsecond line", confidence=77)
    make_user(db)
    with browser(app) as client:
        assert sign_in(client) == 303
        page = client.get("/console").text
    # The draft's text is escaped, never markup, and keeps its line break.
    assert "Hi Sam &lt;b&gt;bold&lt;/b&gt;\nsecond line" in page
    assert "<td>reply</td>" in page and "<td>77</td>" in page
    assert 'class="wait" data-waiting-s=' in page


def test_the_live_parts_need_a_session_too(app: FastAPI) -> None:
    with browser(app) as client:
        for path in ("/console/queue/rows", "/console/drafts/1/holder"):
            assert client.get(path).url.path == "/console/sign-in", path


def test_a_stream_without_a_session_says_signed_out_and_ends(app: FastAPI) -> None:
    # A redirect would only make the browser retry the stream, on a page left standing.
    with browser(app) as client:
        for path in ("/console/events", "/console/fleet/events"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/event-stream"), path
            assert response.text == SIGNED_OUT, path


def test_the_queue_rows_alone_follow_the_pages_filters(app: FastAPI, db: Database) -> None:
    seed_draft(db, seed(db, [Line("inbound", "hi")]), "A reply")
    make_user(db)
    with browser(app) as client:
        assert sign_in(client) == 303
        rows = client.get("/console/queue/rows").text
        assert "A reply" in rows and "<table" not in rows
        assert "No draft is waiting." in client.get("/console/queue/rows?kind=ppv_offer").text
