"""Keeping a long-running process's startup objects out of the garbage collector's way.

A process that serves for hours (the control plane, the drafting worker) starts by
building hundreds of thousands of objects that live as long as it does: modules, the ORM's
mappers, the app's routes and schemas. Every full collection walks them all again. A mass
message allocates tens of thousands of rows and objects at once, which sets off many
collections: on a campaign to 8,000 fans, those walks were a third of the request's time
(`python -m bench.crm`). Frozen (`gc.freeze`) once startup is done, they are left out of
every collection; what the process builds later is collected as before.
"""

from __future__ import annotations

import gc

from sqlalchemy.orm import configure_mappers


def freeze_startup_objects() -> None:
    """Finish what startup builds lazily (the ORM's mappers), then move every object alive
    now out of the collector's sight for good: call once, when the process is ready."""
    configure_mappers()
    gc.freeze()
