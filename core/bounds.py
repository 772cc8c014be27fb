"""What fits: the largest integer a column holds on every database the fleet runs on.

SQLite stores 64-bit integers and PostgreSQL's INTEGER only 32: a count or an amount past
`MAX_INT32` is stored by one and refused (a 500) by the other, so every integer a client
or a worker sends is bounded here first. No database import: browser workers use it.
"""

from __future__ import annotations

MAX_INT32 = 2**31 - 1
