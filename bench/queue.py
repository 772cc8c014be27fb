"""Queue: `python -m bench.queue [--drafts N] [--accounts N]`. Whether the approval queue
answers at scale, on PostgreSQL.

A fresh PostgreSQL database (created on `--postgres`, dropped after) holds `--accounts`
accounts (20) on four response targets (5 to 60 minutes) and `--drafts` pending drafts
(100,000), one per conversation: most fans wrote within the last two days (overdue), one
in fifty in the last two minutes, one draft in ten is a nudge, and fans' spend spans all
four tiers. The control plane runs as a child process (with a private Redis), as in
production, and one client times it over HTTP:

- the queue's first page (50 drafts), a page filtered by account, a page filtered by tier
  and kind, and a deep page (a cursor past half the queue): p50 and p95 of each;
- approving a draft from the top of the queue (`POST /v1/drafts/{id}/approve`): p50, p95;
- ingest, 50 messages a batch (5 new conversations of 10 messages): messages per second;
- the API process's peak resident memory (VmHWM).

Targets: every page p95 <= 50 ms, approve p95 <= 50 ms, ingest >= 1,000 messages/s,
peak RSS <= 300 MB. Progress lines while running; ONE JSON line at the end.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert

from bench.api_under_test import (
    DEFAULT_POSTGRES,
    quantiles,
    seeded_api,
    timed,
)
from bench.script import add_run_dir_options, finish, run_as_script, run_dir
from core.clock import epoch_ms, utcnow
from core.db import Database
from core.drafting.fan import spend_tier
from core.enums import Direction, DraftKind, DraftStatus
from core.guardrails.policy import ApprovalPolicy
from core.models import Account, Conversation, Draft, Fan, Message
from core.priority import points, target_ms
from core.settings import get_settings

PAGE_P95_MS = 50.0
APPROVE_P95_MS = 50.0
INGEST_PER_S = 1_000.0
RSS_MB = 300.0
TARGETS_S = (300, 900, 1_800, 3_600)
PAGE = 50
BATCH_CONVERSATIONS, BATCH_MESSAGES = 5, 10
CHUNK = 5_000


def _spend(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return 0
    if roll < 0.85:
        return rng.randrange(100, 5_000)
    if roll < 0.97:
        return rng.randrange(5_000, 50_000)
    return rng.randrange(50_000, 500_000)


def _kind(index: int, rng: random.Random) -> str:
    if index % 10 == 0:
        return DraftKind.follow_up
    return rng.choices([DraftKind.reply, DraftKind.ppv_offer, DraftKind.tip_thanks], [70, 15, 15])[
        0
    ]


def _variants(text: str) -> list[dict[str, Any]]:
    return [
        {"text": f"{text} ({n})", "confidence": 80 - n, "reason": "bench", "filter_hits": []}
        for n in range(3)
    ]


def seed(database: Database, drafts: int, accounts: int, seed_value: int = 7) -> None:
    """`drafts` pending drafts over `accounts` accounts, inserted in bulk with the keys
    `core.priority` would stamp on them."""
    rng = random.Random(seed_value)
    now = utcnow()
    with database.session() as session:
        policies = [ApprovalPolicy(response_target_s=TARGETS_S[i % 4]) for i in range(accounts)]
        account_ids = [
            session.execute(
                insert(Account).returning(Account.id),
                {
                    "name": f"bench-{i}",
                    "username": f"bench-{i}",
                    "password": "bench-password",
                    "policy": policies[i],
                },
            ).scalar_one()
            for i in range(accounts)
        ]
        session.commit()
        for start in range(0, drafts, CHUNK):
            indexes = range(start, min(start + CHUNK, drafts))
            owners = [index % accounts for index in indexes]
            spends = [_spend(rng) for _ in indexes]
            fans = session.scalars(
                insert(Fan).returning(Fan.id, sort_by_parameter_order=True),
                [
                    {
                        "account_id": account_ids[owner],
                        "platform_fan_id": f"fan-{index}",
                        "name": f"Fan {index}",
                        "total_spend_cents": spend,
                        "tags": [],
                        "notes": "",
                    }
                    for index, owner, spend in zip(indexes, owners, spends, strict=True)
                ],
            ).all()
            conversations = session.scalars(
                insert(Conversation).returning(Conversation.id, sort_by_parameter_order=True),
                [
                    {
                        "account_id": account_ids[owner],
                        "fan_id": fan_id,
                        "platform_conversation_id": f"conv-{index}",
                    }
                    for index, owner, fan_id in zip(indexes, owners, fans, strict=True)
                ],
            ).all()
            sent = [
                now - timedelta(seconds=rng.uniform(0, 120))
                if rng.random() < 0.02
                else now - timedelta(seconds=rng.uniform(600, 2 * 86_400))
                for _ in indexes
            ]
            messages = session.scalars(
                insert(Message).returning(Message.id, sort_by_parameter_order=True),
                [
                    {
                        "conversation_id": conversation_id,
                        "platform_message_id": f"msg-{index}",
                        "direction": Direction.inbound,
                        "text": f"hey, are you there? {index}",
                        "sent_at": sent_at,
                    }
                    for index, conversation_id, sent_at in zip(
                        indexes, conversations, sent, strict=True
                    )
                ],
            ).all()
            rows = []
            for position, index in enumerate(indexes):
                kind = _kind(index, rng)
                created = now - timedelta(seconds=rng.uniform(0, 86_400))
                since = created if kind == DraftKind.follow_up else sent[position]
                text = f"Hi love, thanks for writing {index}"
                rows.append(
                    {
                        "conversation_id": conversations[position],
                        "message_id": messages[position],
                        "account_id": account_ids[owners[position]],
                        "kind": kind,
                        "text": text,
                        "variants": _variants(text),
                        "provider": "offline",
                        "confidence": 80,
                        "status": DraftStatus.pending,
                        "blocked": rng.random() < 0.03,
                        "fan_tier": spend_tier(spends[position]),
                        "queue_rank": -points(spend_tier(spends[position]), spends[position], kind),
                        "wait_since_ms": epoch_ms(since),
                        "target_ms": target_ms(policies[owners[position]]),
                        "created_at": created,
                    }
                )
            session.execute(insert(Draft), rows)
            session.commit()
            print(f"seeded {min(start + CHUNK, drafts):,} of {drafts:,} drafts", flush=True)


def measure(
    http: httpx.Client, keys: dict[str, str], accounts: int, drafts: int, requests: int
) -> dict[str, Any]:
    """Time the queue's pages, approvals and ingest through the API."""
    operator = {"Authorization": f"Bearer {keys['operator']}"}
    worker = {"Authorization": f"Bearer {keys['worker']}"}

    def page(**params: Any) -> httpx.Response:
        return http.get("/v1/drafts", params={"limit": PAGE, **params}, headers=operator)

    account_ids = [
        a["id"]
        for a in http.get("/v1/accounts", params={"limit": 200}, headers=operator).json()["items"]
    ]
    figures: dict[str, Any] = {}
    figures["first_page"] = quantiles([timed(page) for _ in range(requests)])
    print(f"first page: {figures['first_page']}", flush=True)
    figures["account_page"] = quantiles(
        [timed(lambda i=i: page(account_id=account_ids[i % accounts])) for i in range(requests)]
    )
    print(f"account page: {figures['account_page']}", flush=True)
    figures["tier_kind_page"] = quantiles(
        [timed(lambda: page(tier="top", kind="ppv_offer")) for _ in range(requests)]
    )
    print(f"tier and kind page: {figures['tier_kind_page']}", flush=True)
    cursor, depth = None, 0
    while depth < drafts // 2:
        body = http.get(
            "/v1/drafts",
            params={"limit": 200, **({"cursor": cursor} if cursor else {})},
            headers=operator,
        ).json()
        depth += len(body["items"])
        cursor = body["next_cursor"]
    figures["deep_page"] = {
        "depth": depth,
        **quantiles([timed(lambda: page(cursor=cursor)) for _ in range(requests)]),
    }
    print(f"deep page: {figures['deep_page']}", flush=True)
    approvals = []
    while len(approvals) < requests:
        for draft in page(blocked=False).json()["items"]:
            approvals.append(
                timed(
                    lambda d=draft: http.post(
                        f"/v1/drafts/{d['id']}/approve", json={}, headers=operator
                    )
                )
            )
    figures["approve"] = quantiles(approvals)
    print(f"approve: {figures['approve']}", flush=True)
    batches = max(requests // 5, 10)
    started = time.perf_counter()
    for batch in range(batches):
        conversations = [
            {
                "platform_conversation_id": f"ingest-{batch}-{c}",
                "platform_fan_id": f"ingest-fan-{batch}-{c}",
                "fan_name": f"New fan {batch}-{c}",
                "messages": [
                    {
                        "platform_message_id": f"ingest-{batch}-{c}-{m}",
                        "direction": "outbound" if m % 3 == 1 else "inbound",
                        "text": f"message {m} 😍\nsecond line",
                        "sent_at": (utcnow() - timedelta(minutes=BATCH_MESSAGES - m)).isoformat(),
                        "tip_cents": 500 if m == 4 else 0,
                    }
                    for m in range(BATCH_MESSAGES)
                ],
            }
            for c in range(BATCH_CONVERSATIONS)
        ]
        body = {"account_id": account_ids[batch % accounts], "conversations": conversations}
        timed(lambda b=body: http.post("/v1/worker/ingest", json=b, headers=worker))
    elapsed = time.perf_counter() - started
    messages = batches * BATCH_CONVERSATIONS * BATCH_MESSAGES
    figures["ingest"] = {"messages": messages, "per_s": round(messages / elapsed, 1)}
    print(f"ingest: {figures['ingest']}", flush=True)
    return figures


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument("--drafts", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per figure")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="a PostgreSQL server URL; the bench makes and drops its own database there",
    )
    add_run_dir_options(parser)
    args = parser.parse_args()
    settings = get_settings()
    root = run_dir(args, settings.var_dir, "queue")
    with seeded_api(
        args.postgres, "queue", root, lambda db: seed(db, args.drafts, args.accounts)
    ) as run:
        figures = measure(run.http, run.keys, args.accounts, args.drafts, args.requests)
        figures["api_peak_rss_mb"] = run.peak_rss_mb()
        seeded_s = run.seed_s
    pages = ("first_page", "account_page", "tier_kind_page", "deep_page")
    passed = (
        all(figures[name]["p95_ms"] <= PAGE_P95_MS for name in pages)
        and figures["approve"]["p95_ms"] <= APPROVE_P95_MS
        and figures["ingest"]["per_s"] >= INGEST_PER_S
        and figures["api_peak_rss_mb"] <= RSS_MB
    )
    figure = {
        "bench": "queue",
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
