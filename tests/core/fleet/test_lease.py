"""Account leases against the real Redis: exclusive, expiring, renewable, kept alive."""

from __future__ import annotations

import time

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.fleet.lease import AccountLease, LeaseKeeper, held_accounts, holder, lease_key
from tests.helpers.stores import TEST_KEY_PREFIX, free_port


def _lease(redis: Redis, owner: str, ttl_s: float = 5.0, account_id: int = 1) -> AccountLease:
    return AccountLease(redis, TEST_KEY_PREFIX, account_id, owner, ttl_s)


def test_second_owner_cannot_acquire(redis: Redis) -> None:
    first, second = _lease(redis, "worker-a"), _lease(redis, "worker-b")
    assert first.acquire()
    assert not second.acquire()
    assert not first.acquire()  # not re-entrant: a second driver in the same owner is refused
    assert holder(redis, TEST_KEY_PREFIX, 1) == "worker-a"
    assert _lease(redis, "worker-b", account_id=2).acquire()  # other accounts are independent


def test_expiry_frees_the_account(redis: Redis) -> None:
    assert _lease(redis, "worker-a", ttl_s=0.05).acquire()
    time.sleep(0.08)
    assert holder(redis, TEST_KEY_PREFIX, 1) is None
    assert _lease(redis, "worker-b").acquire()


def _ttl_put_back_up(redis: Redis, lease: AccountLease, timeout_s: float = 30) -> bool:
    """Whether the lease's TTL, left to run down a little, is seen back at a higher value
    (a renewal) before `timeout_s`. Polled: it is the renewal that is waited for, not a
    time the machine must keep to."""
    time.sleep(0.02)
    ran_down = redis.pttl(lease.key)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if redis.pttl(lease.key) > ran_down:
            return True
        time.sleep(0.01)
    return False


def test_renew_puts_the_ttl_back_up(redis: Redis) -> None:
    lease = _lease(redis, "worker-a")
    assert lease.acquire()
    time.sleep(0.02)
    ran_down = redis.pttl(lease.key)
    assert lease.renew()
    assert redis.pttl(lease.key) > ran_down
    assert holder(redis, TEST_KEY_PREFIX, 1) == "worker-a"


def test_renew_fails_once_lost(redis: Redis) -> None:
    lease = _lease(redis, "worker-a", ttl_s=0.05)
    assert lease.acquire()
    time.sleep(0.08)
    assert _lease(redis, "worker-b").acquire()
    assert not lease.renew()
    assert redis.pttl(lease.key) > 1000  # worker-b's 5 s TTL was not touched


def test_release_by_non_owner_does_nothing(redis: Redis) -> None:
    mine, theirs = _lease(redis, "worker-a"), _lease(redis, "worker-b")
    assert mine.acquire()
    assert not theirs.release()
    assert holder(redis, TEST_KEY_PREFIX, 1) == "worker-a"
    assert mine.release()
    assert holder(redis, TEST_KEY_PREFIX, 1) is None
    assert not mine.release()


def test_held_accounts_lists_every_lease(redis: Redis) -> None:
    assert held_accounts(redis, TEST_KEY_PREFIX) == {}
    for account_id in (3, 14, 159):
        assert _lease(redis, f"worker-{account_id}", account_id=account_id).acquire()
    redis.set(f"{TEST_KEY_PREFIX}lease:account:not-an-id", "x")  # foreign key, ignored
    redis.set("other:lease:account:9", "x")  # another prefix, ignored
    assert held_accounts(redis, TEST_KEY_PREFIX) == {
        3: "worker-3",
        14: "worker-14",
        159: "worker-159",
    }


def test_works_with_a_decoding_client(redis_url: str) -> None:
    conn = Redis.from_url(redis_url, decode_responses=True)
    lease = AccountLease(conn, TEST_KEY_PREFIX, 5, "worker-a", 5.0)
    assert lease.acquire() and lease.renew()
    assert holder(conn, TEST_KEY_PREFIX, 5) == "worker-a"
    assert held_accounts(conn, TEST_KEY_PREFIX) == {5: "worker-a"}
    assert lease.release()
    conn.close()


def test_keeper_renews_the_lease_and_releases_it(redis: Redis) -> None:
    lease = _lease(redis, "worker-a")
    assert lease.acquire()
    with LeaseKeeper(lease, interval_s=0.05) as keeper:
        assert _ttl_put_back_up(redis, lease)
        assert not keeper.lost.is_set()
        assert holder(redis, TEST_KEY_PREFIX, 1) == "worker-a"
    assert holder(redis, TEST_KEY_PREFIX, 1) is None


@pytest.mark.parametrize("steal", ["delete", "take over"])
def test_keeper_sets_lost_when_the_lease_goes(redis: Redis, steal: str) -> None:
    lease = _lease(redis, "worker-a", ttl_s=0.3)
    assert lease.acquire()
    with LeaseKeeper(lease, interval_s=0.02) as keeper:
        redis.delete(lease_key(TEST_KEY_PREFIX, 1))
        if steal == "take over":
            assert _lease(redis, "worker-b").acquire()
        assert keeper.lost.wait(30)
    # Stopping a keeper whose lease was lost must not release the new holder's lease.
    expected = "worker-b" if steal == "take over" else None
    assert holder(redis, TEST_KEY_PREFIX, 1) == expected


class _Ticks:
    """A clock that moves `step` seconds each time it is read, whatever the machine's
    load: the keeper's give-up rule is judged on its own readings, not on how late a
    starved thread wakes."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.readings: list[float] = []

    def __call__(self) -> float:
        self.readings.append(round(len(self.readings) * self.step, 9))
        return self.readings[-1]


def test_keeper_gives_up_before_ttl_when_redis_is_unreachable() -> None:
    # No client retries: redis-py's default backoff alone would outlast this TTL.
    unreachable = Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    lease = AccountLease(unreachable, TEST_KEY_PREFIX, 1, "worker-a", ttl_s=0.3)
    clock = _Ticks(step=0.05)
    with LeaseKeeper(lease, interval_s=0.1, clock=clock) as keeper:
        assert keeper.lost.wait(30)
    # Read at the start and before and after each failed renewal: the second failure, at
    # 0.2 s, is the last one from which the next attempt (0.1 s on) would not come before
    # the TTL, so the keeper gives up there, before the lease could lapse.
    assert clock.readings == [0.0, 0.05, 0.1, 0.15, 0.2]


def test_keeper_rejects_interval_not_shorter_than_ttl(redis: Redis) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        LeaseKeeper(_lease(redis, "worker-a", ttl_s=0.1), interval_s=0.1)
