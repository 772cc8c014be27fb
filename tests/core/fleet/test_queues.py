"""The order an account's sends go out in: one job per account runs at a time, and the
rest wait in the account's line, sends coming back first, then replies, then the rest,
first come first served within each."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from rq.rate_limit import RateLimitRegistry

from core.enums import SendPriority
from core.fleet.dispatch import line_place
from core.fleet.queues import LinePlace, QueueName, account_rate_limit, enqueue_send, send_job_id
from core.models import Send

ACCOUNT = 7


def registry(redis: Redis) -> RateLimitRegistry:
    return RateLimitRegistry(account_rate_limit(ACCOUNT).key, connection=redis)


def test_the_line_puts_returning_sends_then_replies_first(redis: Redis) -> None:
    assert enqueue_send(redis, 1, ACCOUNT, 1, 60)  # takes the account's slot
    waiting = [
        (2, LinePlace.back),
        (3, LinePlace.reply),
        (4, LinePlace.back),
        (5, LinePlace.reply),
        (6, LinePlace.front),
    ]
    for send_id, place in waiting:
        assert enqueue_send(redis, send_id, ACCOUNT, 1, 60, place=place)
    assert Queue(QueueName.send.value, connection=redis).job_ids == [send_job_id(1, 1)]
    assert registry(redis).get_rate_limited_job_ids() == [
        send_job_id(send_id, 1) for send_id in (6, 3, 5, 2, 4)
    ]
    # The running job ends: RQ lets the head of the line through, onto the queue's front.
    assert registry(redis).release_and_enqueue(send_job_id(1, 1)) == [send_job_id(6, 1)]
    assert Queue(QueueName.send.value, connection=redis).job_ids == [
        send_job_id(6, 1),
        send_job_id(1, 1),
    ]


def test_a_job_let_through_at_once_keeps_its_place_on_the_queue(redis: Redis) -> None:
    # With the slot free the job goes straight to the queue; there is no line to move in.
    assert enqueue_send(redis, 1, ACCOUNT, 2, 60, place=LinePlace.front)
    assert registry(redis).get_rate_limited_job_ids() == []
    assert Queue(QueueName.send.value, connection=redis).job_ids == [send_job_id(1, 2)]


@pytest.mark.parametrize(
    ("priority", "attempt", "place"),
    [
        (SendPriority.reply, 1, LinePlace.reply),
        (SendPriority.direct, 1, LinePlace.back),
        (SendPriority.bulk, 1, LinePlace.back),
        (SendPriority.reply, 2, LinePlace.front),
        (SendPriority.direct, 3, LinePlace.front),
        # A bulk send steps aside for anything waiting, whatever its attempt.
        (SendPriority.bulk, 2, LinePlace.back),
    ],
)
def test_a_sends_place_follows_its_priority_and_attempt(
    priority: SendPriority, attempt: int, place: LinePlace
) -> None:
    assert line_place(Send(priority=priority, attempt=attempt)) == place
