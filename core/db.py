"""Database plumbing: engine and sessions from a URL, UTC datetimes, and pagination.

SQLite is the one-machine default and PostgreSQL the production database; every query in
`core/` runs on both. Datetimes are stored as UTC and always come back timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Dialect, Engine, Select, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as any aware datetime and comes out aware in UTC.

    SQLite has no time zones, so it stores naive UTC; PostgreSQL stores `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; strip the zone for SQLite so stored strings sort correctly."""
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    """Declarative base of every control plane table."""

    type_annotation_map = {datetime: UTCDateTime()}


def normalize_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the driver the fleet ships with."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets foreign keys, a created parent directory and
    `BEGIN IMMEDIATE` transactions, so two requests racing for one row serialise instead of
    failing with "database is locked" halfway through."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from sqlite3 so `_on_begin` decides how BEGIN is issued.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        # Objects stay readable after commit: services commit, then callers read the rows.
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create every missing table."""
        # The models module registers the tables on `Base.metadata` when imported.
        from core import models  # noqa: F401

        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that rolls back whatever is left uncommitted and closes on exit."""
        with self.sessionmaker() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One slice of a query's rows and how many rows the whole query has."""

    items: Sequence[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, stmt: Select[tuple[T]], limit: int, offset: int) -> Page[T]:
    """Run `stmt` for one page (`stmt` must already be ordered) and count all its rows."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = session.scalars(stmt.limit(limit).offset(offset)).all()
    return Page(items=items, total=total or 0, limit=limit, offset=offset)
