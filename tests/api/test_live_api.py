"""The API over real HTTP (the `live_api` fixture workers use), and racing claims."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers.api import LiveApi
from tests.helpers.scraped import conv, msg


def test_live_api_serves_and_settings_point_at_it(live_api: LiveApi) -> None:
    assert live_api.settings.api_url == live_api.url
    assert live_api.settings.worker_token == live_api.worker_key
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/v1/accounts").status_code == 401
        listed = http.get("/v1/accounts", headers=live_api.headers("operator"))
        assert listed.json()["items"] == []


def test_racing_claims_give_exactly_one_fresh_ticket(live_api: LiveApi) -> None:
    with httpx.Client(base_url=live_api.url, timeout=30) as http:
        admin, worker = live_api.headers("admin"), live_api.headers("worker")
        account = http.post(
            "/v1/accounts", headers=admin, json={"name": "A", "username": "a", "password": "p"}
        ).json()
        body = {"account_id": account["id"], "conversations": [conv("c", [msg("m", "inbound", 0)])]}
        http.post("/v1/worker/ingest", headers=worker, json=body).raise_for_status()
        conversation = http.get("/v1/conversations", headers=admin).json()["items"][0]
        send_ids = [
            http.post(
                "/v1/sends",
                headers=admin,
                json={"conversation_id": conversation["id"], "text": f"hi {i}"},
            ).json()["id"]
            for i in range(4)
        ]

    def claim(args: tuple[int, str]) -> bool:
        send_id, worker_id = args
        with httpx.Client(base_url=live_api.url, timeout=30) as http:
            response = http.post(
                f"/v1/worker/sends/{send_id}/claim", headers=worker, json={"worker_id": worker_id}
            )
            response.raise_for_status()
            return response.json()["verify"]

    jobs = [(send_id, f"w{n}") for send_id in send_ids for n in range(3)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        verifies = list(pool.map(claim, jobs))
    # Per send, exactly one claim found it queued; the others were re-claims that verify.
    for index in range(len(send_ids)):
        assert sorted(verifies[index * 3 : index * 3 + 3]) == [False, True, True]
