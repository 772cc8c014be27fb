"""The console's fleet page over HTTP: the fleet as `/v1/fleet` has it, accounts held for
someone (resumed, or given credentials, by an admin), throttled accounts, and dead
letters requeued."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import Redis

from api.console.fleet import FleetWatch, Reading, shared_reading
from core.auth import Principal
from core.db import Database
from core.enums import AccountStatus, Role, SendStatus
from core.fleet.pacing import Pacer
from core.models import Account, Send
from core.people import SignedIn
from core.settings import Settings
from tests.helpers.console import browser, form_token, make_user, sign_in
from tests.helpers.seeding import Line, seed, seed_dead_letter

# The pages are thin over `core`, whose own tests and the API's run on both databases:
# one will do here.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _signed_in(app: FastAPI, db: Database, name: str, role: Role) -> TestClient:
    make_user(db, name, role)
    client = browser(app)
    assert sign_in(client, name) == 303
    return client


def _held(db: Database, status: AccountStatus) -> int:
    seeded = seed(db, [Line("inbound", "hi")])
    with db.session() as session:
        session.get_one(Account, seeded.account_id).status = status
        session.commit()
    return seeded.account_id


def _status(db: Database, account_id: int) -> AccountStatus:
    with db.session() as session:
        return session.get_one(Account, account_id).status


def test_the_fleet_page_shows_the_fleets_state_and_what_waits_for_someone(
    app: FastAPI, db: Database
) -> None:
    account_id = _held(db, AccountStatus.paused)
    with _signed_in(app, db, "mia", Role.operator) as mia:
        page = mia.get("/console/fleet").text
    assert "No worker is running." in page and "<h2>Queues</h2>" in page
    assert f"(account {account_id}): paused" in page
    # Resuming is an admin's: an operator sees no button.
    assert "Resume" not in page


def test_the_fleet_page_shows_a_throttled_account_and_its_backoff(
    app: FastAPI, db: Database, redis: Redis, settings: Settings
) -> None:
    account_id = seed(db, [Line("inbound", "hi")]).account_id
    Pacer.for_settings(redis, settings).pause(account_id, 90)
    with _signed_in(app, db, "mia", Role.operator) as mia:
        page = mia.get("/console/fleet").text
    throttled = page[page.index("<h2>Throttled accounts</h2>") :]
    assert f"<strong>Mia</strong> (account {account_id}): the platform said slow down" in throttled


def test_an_admin_resumes_a_paused_account_and_an_operator_may_not(
    app: FastAPI, db: Database
) -> None:
    account_id = _held(db, AccountStatus.paused)
    path = f"/console/fleet/accounts/{account_id}/resume"
    with _signed_in(app, db, "mia", Role.operator) as mia:
        token = form_token(mia.get("/console/fleet").text)
        refused = mia.post(path, data={"csrf": token})
        assert refused.status_code == 403
        assert "only an admin may change an account" in refused.text
    assert _status(db, account_id) == AccountStatus.paused
    with _signed_in(app, db, "ada", Role.admin) as ada:
        token = form_token(ada.get("/console/fleet").text)
        assert ada.post(path, data={"csrf": "x"}).status_code == 403
        done = ada.post(path, data={"csrf": token}, follow_redirects=False)
        assert (done.status_code, done.headers["location"]) == (303, "/console/fleet")
    assert _status(db, account_id) == AccountStatus.active


def test_new_credentials_let_a_needs_login_account_run_again_sealed(
    app: FastAPI, db: Database
) -> None:
    account_id = _held(db, AccountStatus.needs_login)
    with _signed_in(app, db, "ada", Role.admin) as ada:
        token = form_token(ada.get("/console/fleet").text)
        done = ada.post(
            f"/console/fleet/accounts/{account_id}/credentials",
            data={"csrf": token, "username": "mia2", "password": "n3w-Secret!"},
            follow_redirects=False,
        )
        assert done.status_code == 303
    with db.session() as session:
        account = session.get_one(Account, account_id)
        assert (account.status, account.username) == (AccountStatus.active, "mia2")
        assert "n3w-Secret!" not in account.password


def test_an_unknown_account_or_no_selection_is_told_on_the_page(app: FastAPI, db: Database) -> None:
    with _signed_in(app, db, "ada", Role.admin) as ada:
        token = form_token(ada.get("/console/fleet").text)
        unknown = ada.post("/console/fleet/accounts/999/resume", data={"csrf": token})
        assert unknown.status_code == 404 and "account 999 not found" in unknown.text
        empty = ada.post("/console/fleet/sends/requeue", data={"csrf": token})
        assert empty.status_code == 400 and "ids: select at least one send" in empty.text


def test_dead_letters_are_listed_and_requeued(app: FastAPI, db: Database) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    dead_id = seed_dead_letter(db, seeded, "TimeoutError: the thread never rendered")
    with _signed_in(app, db, "mia", Role.operator) as mia:
        page = mia.get("/console/fleet").text
        assert "TimeoutError: the thread never rendered" in page
        done = mia.post(
            "/console/fleet/sends/requeue",
            data={"csrf": form_token(page), "ids": [dead_id]},
            follow_redirects=False,
        )
        assert done.status_code == 303
    with db.session() as session:
        assert session.get_one(Send, dead_id).status == SendStatus.queued


class _Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _watch(reading: Reading, redis: Redis, settings: Settings, role: Role) -> FleetWatch:
    person = SignedIn(Principal(role.value, role), csrf_token="t", session_id=1)
    return FleetWatch(reading, redis, settings, person)


def _looks(db: Database, *watches: FleetWatch) -> list[str | None]:
    """What each open page's stream sends at its next look."""
    with db.session() as session:
        return [watch.look(session) for watch in watches]


def test_open_fleet_pages_share_one_reading_each_shown_as_its_person_may_see_it(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    _held(db, AccountStatus.paused)
    reading = shared_reading(max_age_s=0.5, timer=_Clock())
    admin = _watch(reading, redis, settings, Role.admin)
    operator = _watch(reading, redis, settings, Role.operator)
    _looks(db, admin, operator)
    seed_dead_letter(db, seeded, "TimeoutError: gone")

    by_admin, by_operator = _looks(db, admin, operator)

    assert by_admin is not None and by_operator is not None
    assert "TimeoutError: gone" in by_admin and "TimeoutError: gone" in by_operator
    assert "Resume" in by_admin and "Resume" not in by_operator
    info = reading.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_page_just_opened_reads_the_fleet_afresh(
    db: Database, redis: Redis, settings: Settings
) -> None:
    # It may be the answer to an action, which a shared reading would show undone.
    seeded = seed(db, [Line("inbound", "hi")])
    reading = shared_reading(max_age_s=0.5, timer=_Clock())
    open_page = _watch(reading, redis, settings, Role.operator)
    _looks(db, open_page, open_page)
    seed_dead_letter(db, seeded, "TimeoutError: gone")

    new_page = _watch(reading, redis, settings, Role.operator)
    [shown_new, shown_open] = _looks(db, new_page, open_page)

    assert shown_new is not None and "TimeoutError: gone" in shown_new
    assert shown_open is None, "within its age, the reading is shared as it was"


def test_a_shared_reading_is_read_again_once_it_is_older_than_its_age(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    clock = _Clock()
    reading = shared_reading(max_age_s=0.5, timer=clock)
    page = _watch(reading, redis, settings, Role.operator)
    _looks(db, page, page)
    seed_dead_letter(db, seeded, "TimeoutError: gone")
    assert _looks(db, page) == [None]

    clock.now = 0.5
    [shown] = _looks(db, page)

    assert shown is not None and "TimeoutError: gone" in shown


def test_an_action_on_the_fleet_page_drops_the_shared_reading(
    app: FastAPI, db: Database, redis: Redis, settings: Settings
) -> None:
    dead_id = seed_dead_letter(db, seed(db, [Line("inbound", "hi")]), "TimeoutError: gone")
    reading: Reading = app.state.fleet_reading
    page = _watch(reading, redis, settings, Role.operator)
    _looks(db, page, page)
    assert reading.cache_info().currsize == 1
    with _signed_in(app, db, "mia", Role.operator) as mia:
        form = mia.get("/console/fleet").text
        done = mia.post(
            "/console/fleet/sends/requeue",
            data={"csrf": form_token(form), "ids": [dead_id]},
            follow_redirects=False,
        )
    assert done.status_code == 303
    assert reading.cache_info().currsize == 0
