"""The approval queue's priority: its order (`order`, pure) and the keys each draft
carries so the queue is read a page at a time (`keys`)."""

from core.priority.keys import restamp_fans, retarget, stamp, target_ms
from core.priority.order import Standing, is_overdue, points, priority, standing, waited_ms

__all__ = [
    "Standing",
    "is_overdue",
    "points",
    "priority",
    "restamp_fans",
    "retarget",
    "stamp",
    "standing",
    "target_ms",
    "waited_ms",
]
