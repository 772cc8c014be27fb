"""Console: `python -m bench.console [--drafts N] [--accounts N]`. Whether the operator
console keeps up with an agency's queue, on PostgreSQL.

The database `bench.queue` seeds (`--drafts` pending drafts, 100,000, over `--accounts`
accounts, 20), one more account kept empty for the live figure, and a console user. The
control plane runs as a child process (with a private Redis); an HTTP client signed in
as that user, and Debian's Chromium, time it:

- the queue page (`GET /console`, the first 50 drafts of the whole queue), and the same
  filtered by account: p50 and p95 of the server's answer;
- a draft's creation to its row on an open console, in the browser, by SSE: the console
  shows the empty account's queue, a draft for it is written to the database, and the
  time runs until its row is on the screen;
- a key press on `a` in the review screen to its send's row in the database.

Targets: queue page p95 <= 100 ms, creation to row <= 1 s, key press to send <= 300 ms.
Progress lines while running; ONE JSON line at the end.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import timedelta
from typing import Any

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import insert, select

from bench.api_under_test import DEFAULT_POSTGRES, quantiles, seeded_api, timed
from bench.queue import _variants
from bench.queue import seed as seed_queue
from bench.script import add_run_dir_options, finish, run_as_script, run_dir
from cli.processes import wait_until
from core.clock import epoch_ms, utcnow
from core.db import Database
from core.drafting.fan import SpendTier
from core.enums import Direction, DraftKind, DraftStatus, Role
from core.guardrails.policy import ApprovalPolicy
from core.models import Account, Conversation, Draft, Fan, Message, Send
from core.people import create_user
from core.priority import points, target_ms
from core.settings import get_settings
from workers.browser import chromium_args

PAGE_P95_MS = 100.0
LIVE_S = 1.0
KEY_TO_SEND_MS = 300.0
USER, PASSWORD = "bench-operator", "bench-console-password"
LIVE_ACCOUNT = "bench-live"
LIVE_DRAFTS = 10
# How often the bench looks for what it waits on: a fraction of what it measures.
LOOK_S = 0.005


def seed(database: Database, drafts: int, accounts: int) -> None:
    """The queue bench's drafts, an empty account for the live figure, a console user."""
    seed_queue(database, drafts, accounts)
    with database.session() as session:
        session.execute(
            insert(Account),
            {"name": LIVE_ACCOUNT, "username": LIVE_ACCOUNT, "password": "bench-password"},
        )
        session.commit()
        create_user(session, USER, Role.operator, PASSWORD, actor="bench")


def _new_draft(database: Database, account_id: int, n: int) -> str:
    """Write a pending draft for the account, as a drafter would; its text."""
    now = utcnow()
    text = f"Live draft {n}, just for you"
    with database.session() as session:
        fan = session.scalar(
            insert(Fan).returning(Fan.id),
            {"account_id": account_id, "platform_fan_id": f"live-{n}", "tags": [], "notes": ""},
        )
        conversation = session.scalar(
            insert(Conversation).returning(Conversation.id),
            {"account_id": account_id, "fan_id": fan, "platform_conversation_id": f"live-{n}"},
        )
        message = session.scalar(
            insert(Message).returning(Message.id),
            {
                "conversation_id": conversation,
                "platform_message_id": f"live-{n}",
                "direction": Direction.inbound,
                "text": "are you there?",
                "sent_at": now - timedelta(seconds=5),
            },
        )
        session.execute(
            insert(Draft),
            {
                "conversation_id": conversation,
                "message_id": message,
                "account_id": account_id,
                "kind": DraftKind.reply,
                "text": text,
                "variants": _variants(text),
                "provider": "offline",
                "confidence": 80,
                "status": DraftStatus.pending,
                "blocked": False,
                "fan_tier": SpendTier.none,
                "queue_rank": -points(SpendTier.none, 0, DraftKind.reply),
                "wait_since_ms": epoch_ms(now),
                "target_ms": target_ms(ApprovalPolicy()),
                "created_at": now,
            },
        )
        session.commit()
    return text


def _session_cookie(http: httpx.Client) -> dict[str, str]:
    """Sign in through the form; the session cookie to send (the bench's plain-HTTP
    client would not send a Secure cookie by itself)."""
    page = http.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None, "no sign-in form"
    signed = http.post(
        "/console/sign-in",
        data={"name": USER, "password": PASSWORD, "csrf": token.group(1)},
        cookies=dict(page.cookies),
        follow_redirects=False,
    )
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in: {signed.status_code}")
    return {"fleet_console": signed.cookies["fleet_console"]}


def _pages(http: httpx.Client, cookies: dict[str, str], requests: int, accounts: int) -> dict:
    def queue(account: int | None = None) -> httpx.Response:
        params = {} if account is None else {"account_id": account}
        return http.get("/console", params=params, cookies=cookies)

    figures = {
        "queue_page": quantiles([timed(queue) for _ in range(requests)]),
        "account_page": quantiles(
            [timed(lambda n=n: queue(1 + n % accounts)) for n in range(requests)]
        ),
    }
    print(f"pages: {figures}", flush=True)
    return figures


def _browser_figures(url: str, database: Database, account_id: int) -> dict[str, Any]:
    live, keys = [], []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=get_settings().chromium_path, args=chromium_args(), headless=True
        )
        page = chromium.new_page()
        page.goto(f"{url}/console/sign-in")
        page.fill("#name", USER)
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url(f"{url}/console")
        page.goto(f"{url}/console?account_id={account_id}")
        for n in range(LIVE_DRAFTS):
            # Let the page's stream see the queue as it stands before the draft.
            page.wait_for_timeout(1_000)
            started = time.perf_counter()
            text = _new_draft(database, account_id, n)
            page.get_by_role("link", name=text).wait_for(timeout=10_000)
            live.append(time.perf_counter() - started)
        print(f"creation to row: {[round(s, 3) for s in live]}", flush=True)
        for _ in range(LIVE_DRAFTS):
            first = page.locator("a.open-draft").first
            first.click()
            page.locator("#approve").wait_for()
            draft_id = int(page.url.rsplit("/", 1)[1])
            # The approval answers with the next draft: let that page come before leaving.
            with page.expect_navigation():
                started = time.perf_counter()
                page.keyboard.press("a")
                wait_until(lambda d=draft_id: _sent(database, d), 10, "the send row", lambda: None)
                keys.append((time.perf_counter() - started) * 1000)
            page.goto(f"{url}/console?account_id={account_id}")
        print(f"key to send: {[round(ms) for ms in keys]}", flush=True)
        chromium.close()
    return {
        "creation_to_row_s": {
            "p50": round(sorted(live)[len(live) // 2], 3),
            "max": round(max(live), 3),
        },
        "key_to_send": quantiles(keys),
    }


def _sent(database: Database, draft_id: int) -> bool:
    with database.session() as session:
        return session.scalar(select(Send.id).where(Send.draft_id == draft_id)) is not None


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--drafts", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per figure")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="a PostgreSQL server URL; the bench makes and drops its own database there",
    )
    add_run_dir_options(parser)
    args = parser.parse_args()
    settings = get_settings()
    root = run_dir(args, settings.var_dir, "console")
    with seeded_api(
        args.postgres, "console", root, lambda db: seed(db, args.drafts, args.accounts)
    ) as run:
        url = str(run.http.base_url).rstrip("/")
        database = Database(run.database_url)
        with database.session() as session:
            live_account = session.scalar(select(Account.id).where(Account.name == LIVE_ACCOUNT))
        assert live_account is not None
        cookies = _session_cookie(run.http)
        figures: dict[str, Any] = _pages(run.http, cookies, args.requests, args.accounts)
        figures |= _browser_figures(url, database, live_account)
        database.dispose()
        seeded_s = run.seed_s
    passed = (
        figures["queue_page"]["p95_ms"] <= PAGE_P95_MS
        and figures["account_page"]["p95_ms"] <= PAGE_P95_MS
        and figures["creation_to_row_s"]["max"] <= LIVE_S
        and figures["key_to_send"]["p95_ms"] <= KEY_TO_SEND_MS
    )
    figure = {
        "bench": "console",
        "database": "postgresql",
        "drafts": args.drafts,
        "accounts": args.accounts,
        "seed_s": round(seeded_s, 1),
        **figures,
        "passed": passed,
    }
    return finish(figure, root, args.keep_var)


if __name__ == "__main__":
    run_as_script(main)
