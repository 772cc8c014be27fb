"""A long-running process freezes what its startup built, and still collects the rest."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from core.heap import freeze_startup_objects
from core.models import Fan


@pytest.fixture
def frozen() -> Iterator[None]:
    """The test process's objects frozen as a ready process's are, thawed after."""
    freeze_startup_objects()
    yield
    gc.unfreeze()


class _Cycle:
    """An object that refers to itself: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_the_objects_alive_when_ready_are_left_out_of_collections(frozen: None) -> None:
    assert gc.get_freeze_count() > 0
    assert inspect(Fan).configured


def test_what_the_process_builds_later_is_still_collected(frozen: None) -> None:
    cycle = _Cycle()
    gone = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert gone() is None
