"""The database's schema version: Alembic migrations (`core/migrations/`), run by
`fleet db upgrade`, and the check every process that opens the database makes first.

A process never changes the schema by itself: the API, the drafting worker and the
reconciler refuse to start on a database that is behind (`SchemaBehind`, naming the
revisions and the command to run). The demo, the benchmarks and the tests upgrade the
databases they make.

A database made by `create_all`, before migrations existed, has the tables and no version.
`upgrade` adopts it as the first revision when it has every column that revision made,
and refuses it, naming what is missing, when it is older than that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect

from core.crypto import Keyring
from core.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"


class SchemaBehind(RuntimeError):
    """The database is not at the revision this release needs; says which and what to run."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The revision this release needs (read once per process: the scripts ship with it)."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "no migrations"
    return revision


def current(database: Database) -> str | None:
    """The database's revision; None when it has none (empty, or made before migrations)."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def _baseline_columns() -> dict[str, set[str]]:
    """The tables and columns the first revision makes, on a scratch database."""
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        command.upgrade(_config(connection), BASELINE)
        columns = _columns(connection)
    engine.dispose()
    return columns


def _adopt(connection: Connection) -> None:
    """Stamp a database made by `create_all` as the first revision, when it is that
    schema; `SchemaBehind` naming the missing columns when it is older."""
    found = _columns(connection)
    missing = sorted(
        f"{table}.{column}"
        for table, columns in _baseline_columns().items()
        for column in columns - found.get(table, set())
    )
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise SchemaBehind(
            f"the database predates migrations and lacks {shown}: it cannot be upgraded "
            "in place; start from a fresh one"
        )
    command.stamp(_config(connection), BASELINE)


def upgrade(database: Database, revision: str = "head", ring: Keyring | None = None) -> None:
    """Migrate the database to `revision` (this release's by default), in one transaction
    where the database allows it. `ring` seals what a migration finds in plain text (a
    database holding accounts cannot be upgraded past 0003 without it)."""
    with (
        database.engine.connect() as connection,
        _foreign_keys_off(connection),
        connection.begin(),
    ):
        fresh = MigrationContext.configure(connection).get_current_revision() is None
        if fresh and _columns(connection):
            _adopt(connection)
        config = _config(connection)
        config.attributes["keyring"] = ring
        command.upgrade(config, revision)


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite alters a table by copying it and dropping the old one: with foreign keys on,
    the drop would cascade and delete every row that points at it. Off for the migration
    (set outside any transaction, where SQLite honours it), on again after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def require_current(database: Database) -> None:
    """`SchemaBehind` unless the database is at this release's revision."""
    found, needed = current(database), head()
    if found != needed:
        at = f"at revision {found}" if found else "not migrated"
        raise SchemaBehind(
            f"the database is {at}; this release needs revision {needed}: run `fleet db upgrade`"
        )
