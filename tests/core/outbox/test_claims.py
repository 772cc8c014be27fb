"""What a claimed send tells the worker about the message it answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers.api import claim, make_account, make_conversation, make_send
from tests.helpers.scraped import msg


def test_the_ticket_carries_the_length_of_the_newest_fan_message(
    client: TestClient, admin: dict, operator: dict, worker: dict
) -> None:
    account = make_account(client, admin)
    messages = [
        msg("m1", "inbound", 0, "hi"),
        msg("m2", "outbound", 1, "hello you"),
        msg("m3", "inbound", 2, "what are you up to tonight?"),
    ]
    conversation = make_conversation(client, worker, admin, account["id"], "c-1", messages)
    send = make_send(client, operator, conversation["id"])
    ticket = claim(client, worker, send["id"], "w1").json()
    assert ticket["inbound_chars"] == len("what are you up to tonight?")
