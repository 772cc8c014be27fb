"""Database plumbing: engine and sessions from a URL, the column types every table uses
(UTC datetimes, typed JSON).

SQLite is the one-machine default and PostgreSQL the production database; every query in
`core/` runs on both. Datetimes are stored as UTC and always come back timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from loguru import logger
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    JSON,
    ColumnDefault,
    ColumnElement,
    DateTime,
    Dialect,
    Engine,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapper, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from core.clock import as_utc


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


@dataclass(frozen=True)
class StoredProblem:
    """Why a stored value no longer validates: where (`loc`, from the column's name on),
    what pydantic says, and its error type."""

    loc: tuple[str, ...]
    msg: str
    type: str


class TypedJSON(TypeDecorator[Any]):
    """A JSON column whose Python value is a pydantic-validated type (a model, a list of
    models): rows hand back `account.policy.nudges`, never a dict to parse again.

    Written values are validated and stored in JSON mode. Read values are validated back;
    one that no longer validates (stored by an older release, or edited by hand) never
    breaks a read: it is logged by where it fails, never by its content, and read as
    `fallback()`. NULL reads as `fallback()` too, when there is one. Set on a row, a plain
    dict or list is validated at once (`Base`'s set listener), so a row never holds
    unvalidated JSON either.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, value_type: Any, fallback: Callable[[], Any] | None = None) -> None:
        super().__init__()
        self.value_type = value_type
        self.fallback = fallback
        self._adapter: TypeAdapter[Any] = TypeAdapter(value_type)

    def coerce(self, value: Any) -> Any:
        """`value` as the column's type; None as the fallback. Invalid input raises
        pydantic's `ValidationError`: writing a bad value is the caller's bug."""
        if value is None:
            return None if self.fallback is None else self.fallback()
        return self._adapter.validate_python(value)

    def problems(self, stored: Any) -> list[StoredProblem]:
        """What is wrong with the `stored` JSON, by where it fails (never its content);
        none when it validates, or is NULL."""
        if stored is None:
            return []
        try:
            self._adapter.validate_python(stored)
        except ValidationError as exc:
            return [
                StoredProblem(
                    loc=tuple(str(part) for part in error["loc"]),
                    msg=error["msg"],
                    type=error["type"],
                )
                for error in exc.errors(include_input=False, include_url=False)
            ]
        return []

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """The value as JSON-ready data."""
        if value is None:
            return None
        return self._adapter.dump_python(self.coerce(value), mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """The stored JSON as the column's type, or the fallback when it does not
        validate."""
        if value is None:
            return self.coerce(None)
        try:
            return self._adapter.validate_python(value)
        except ValidationError as exc:
            where = sorted({".".join(map(str, error["loc"])) or "<root>" for error in exc.errors()})
            logger.bind(type=str(self.value_type), invalid=where).warning(
                "a stored value does not validate; read as its fallback"
            )
            if self.fallback is None:
                raise
            return self.fallback()


class Base(DeclarativeBase):
    """Declarative base of every control plane table."""

    type_annotation_map = {datetime: UTCDateTime()}


@event.listens_for(Base, "mapper_configured", propagate=True)
def _validate_typed_json_on_set(mapper: Mapper[Any], class_: type) -> None:
    """Validate every value set on a `TypedJSON` attribute as it is set, constructor
    arguments included."""
    for prop in mapper.column_attrs:
        column_type = prop.columns[0].type
        if isinstance(column_type, TypedJSON):

            def coerce(
                _target: Any,
                value: Any,
                _old: Any,
                _initiator: Any,
                column_type: TypedJSON = column_type,
            ) -> Any:
                return column_type.coerce(value)

            event.listen(getattr(class_, prop.key), "set", coerce, retval=True)


def stored_problems(
    session: Session, model: type[Base], ids: Collection[int] | None = None
) -> dict[int, list[StoredProblem]]:
    """The rows of `model` (those in `ids`, or all) whose typed JSON no longer validates,
    with what is wrong, each `loc` starting with the column's name. The raw JSON is read
    past the column type, so nothing here reads a row as its fallback."""
    table = model.__table__  # type: ignore[attr-defined]
    columns = [column for column in table.columns if isinstance(column.type, TypedJSON)]
    stmt = select(table.c.id, *(type_coerce(column, JSON) for column in columns))
    if ids is not None:
        stmt = stmt.where(table.c.id.in_(ids))
    found: dict[int, list[StoredProblem]] = {}
    for row_id, *values in session.execute(stmt):
        problems = [
            StoredProblem(loc=(column.name, *problem.loc), msg=problem.msg, type=problem.type)
            for column, value in zip(columns, values, strict=True)
            for problem in column.type.problems(value)
        ]
        if problems:
            found[row_id] = problems
    return found


def normalize_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the driver the fleet ships with."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets foreign keys, a created parent directory and
    `BEGIN IMMEDIATE` transactions, so two requests racing for one row serialise instead of
    failing with "database is locked" halfway through. No engine ever puts a statement's
    parameters in an error (`hide_parameters`): they may hold a password or a message."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        hide_parameters=True,
    )

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

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that rolls back whatever is left uncommitted and closes on exit."""
        with self.sessionmaker() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def end_read(session: Session) -> None:
    """End the read transaction, keeping the rows read readable: on SQLite every
    transaction holds the write lock, which must not be held across a pass's Redis calls."""
    session.expunge_all()
    session.rollback()


def one_of(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """`column` is one of `ids`, given as one parameter however many there are: a list of
    thousands of parameters is a statement thousands of placeholders long to build and
    parse, and SQLite refuses one past 32,766. PostgreSQL reads an array (`= ANY`), SQLite
    a JSON array (`json_each`)."""
    if session.get_bind().dialect.name == "postgresql":
        # In the array's text form: psycopg writes a list element by element, five times
        # slower for a mass message's thousands of ids than PostgreSQL takes to read it.
        written = "{" + ",".join(map(str, map(int, ids))) + "}"
        return column == any_(cast(bindparam(None, written, type_=String), ARRAY(Integer)))  # type: ignore[no-any-return]
    each = func.json_each(bindparam(None, json.dumps(list(ids)))).table_valued("value")
    return column.in_(select(each.c.value))  # type: ignore[no-any-return]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert `rows` (each naming the same columns) into `table` in one statement, filling
    the columns' Python defaults, and hand back the new rows' ids in the order of `rows`.

    PostgreSQL reads every row from one JSON parameter (`json_populate_recordset`): an
    executemany binds and sends each row, three times slower for a mass message's thousands
    of sends, and a multi-row VALUES is a statement thousands of placeholders long. What
    every row holds alike (a mass message's status, author, price; the defaults) goes once,
    in a second JSON parameter (`json_populate_record`), not once a row: the rows carry
    only what differs, a quarter of the JSON to write and parse for a campaign's sends.
    SQLite, in-process, takes the executemany."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.scalars(returning, list(rows)))
    dialect = session.get_bind().dialect
    ready = {column.name: _json_ready(column.type, dialect) for column in table.columns}
    first = rows[0]
    varying = [name for name in first if any(row[name] != first[name] for row in rows)]
    # Evaluated and made ready once for all the rows.
    shared = {name: ready[name](value) for name, value in first.items() if name not in varying}
    shared.update(
        (
            column.name,
            ready[column.name](
                column.default.arg(None) if column.default.is_callable else column.default.arg
            ),
        )
        for column in table.columns
        if isinstance(column.default, ColumnDefault) and column.name not in first
    )
    payload = [{name: row[name] for name in varying} for row in rows]
    for name in varying:
        process = ready[name]
        if process is not _as_is:
            for values in payload:
                values[name] = process(values[name])
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in [*varying, *shared])
    selected = ", ".join(
        [*(f"each.{quote(name)}" for name in varying), *(f"alike.{quote(name)}" for name in shared)]
    )
    statement = text(
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {selected} "
        f"FROM json_populate_recordset(NULL::{quote(table.name)}, CAST(:rows AS json)) "
        "WITH ORDINALITY AS each, "
        f"json_populate_record(NULL::{quote(table.name)}, CAST(:alike AS json)) AS alike "
        "ORDER BY each.ordinality RETURNING id"
    )
    # A sequence hands out its values in the order the SELECT yields the rows, as
    # SQLAlchemy's own ordered RETURNING relies on: sorted, the ids follow `rows`.
    return sorted(
        session.scalars(
            statement,
            {
                "rows": json.dumps(payload, default=_json_default),
                "alike": json.dumps(shared, default=_json_default),
            },
        )
    )


def _json_ready(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """How a value of the column goes into the JSON rows: as the column binds it (an enum's
    stored string, a UTC datetime), JSON columns as JSON, not as a string of it."""
    if isinstance(column_type, TypeDecorator) and isinstance(column_type.impl_instance, JSON):
        return partial(column_type.process_bind_param, dialect=dialect)
    processor = None if isinstance(column_type, JSON) else column_type.bind_processor(dialect)
    return processor or _as_is


def _as_is(value: Any) -> Any:
    return value


def _json_default(value: Any) -> str:
    """What `json` cannot write itself: times, as PostgreSQL reads them."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
