"""Importing fans' tags, notes and custom fields from a CSV, all or nothing.

The file (UTF-8, a header row first; Excel's byte-order mark is fine) names each fan by
`platform_fan_id` or, where the platform shows one, `handle`, on the account in its
`account_id` column or the one the import is for. Columns:

- `tags`: tags split by `;`, added to the fan's (or replacing them, `tags_mode=replace`);
- `notes`: replaces the fan's notes;
- `custom.NAME`: sets the custom field NAME (as text);
- `id`, `name`, `tier`, `total_spend_cents` and `last_active_at`, which the export writes,
  are read-only and skipped, so an exported file comes back in as it is.

An empty cell changes nothing. Every row is checked before anything is written: one bad
row (its row number, its column, what is wrong), an unknown fan or a fan named twice and
nothing is written at all. A dry run checks and counts, and writes nothing either. Cells
the export guarded against spreadsheet formulas (a leading `'` before `=`, `+`, `-`, `@`)
are read back without the guard (`core.crm.csv_cells`).

Set-based and bounded: the file is read a chunk of rows at a time; each chunk's fans are
found in one query per key column, and its changes written in one statement
(executed for many rows); nothing of a chunk is kept after it but the ids of the fans seen
(to find a fan named twice). All chunks are one transaction, rolled back at the first
error found in any of them, or at the end of a dry run.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    JSON,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from core import audit
from core.crm.csv_cells import CUSTOM_PREFIX, TAG_SEPARATOR, unguard
from core.crm.fan_edits import (
    FIELD_NAME_PATTERN,
    FanChanges,
    FanLimitExceeded,
    FanValues,
    FieldName,
    FieldText,
    Notes,
    Tags,
    apply_changes,
)
from core.errors import MAX_ID
from core.models import Account, Fan

MAX_ROWS = 100_000
# Errors listed in a report; the count covers them all.
MAX_ERRORS_SHOWN = 100
# Rows read, checked and written at a time.
CHUNK_ROWS = 20_000
KEY_COLUMNS = ("platform_fan_id", "handle")
EDIT_COLUMNS = ("tags", "notes")
READ_ONLY_COLUMNS = ("id", "name", "tier", "total_spend_cents", "last_active_at")

_FIELD_NAME = TypeAdapter(FieldName)
# The validators themselves: a file checks hundreds of thousands of cells.
_TAGS = TypeAdapter(Tags).validator
_NOTES = TypeAdapter(Notes).validator
_FIELD_TEXT = TypeAdapter(FieldText).validator


class TagsMode(StrEnum):
    """What a `tags` cell does to the fan's tags."""

    add = "add"
    replace = "replace"


@dataclass(frozen=True)
class RowError:
    """What is wrong in one row (1 is the header), in which column ("" for the row)."""

    row: int
    column: str
    message: str


@dataclass
class ImportReport:
    """What an import found, and whether it wrote (`applied`)."""

    rows: int = 0
    matched: int = 0
    changed: int = 0
    dry_run: bool = False
    applied: bool = False
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def unchanged(self) -> int:
        return self.matched - self.changed

    def fail(self, row: int, column: str, message: str) -> None:
        """Count an error, listed while fewer than `MAX_ERRORS_SHOWN` are (the rows are
        checked, then their fans found: `import_fans` sorts the list by row at the end)."""
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(RowError(row, column, message))


@dataclass(frozen=True)
class _Row:
    number: int
    account_id: int
    key_column: str
    key: str
    changes: FanChanges


def _rows(text: str, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows by row number, header checked; errors go to `report`."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        report.fail(1, "", "the file is empty: a header row is needed")
        return
    except csv.Error as exc:
        report.fail(1, "", f"not a CSV file: {exc}")
        return
    columns = [name.strip() for name in header]
    known = (*KEY_COLUMNS, *EDIT_COLUMNS, *READ_ONLY_COLUMNS, "account_id")
    for name in columns:
        if name.startswith(CUSTOM_PREFIX):
            try:
                _FIELD_NAME.validate_python(name.removeprefix(CUSTOM_PREFIX))
            except ValidationError:
                report.fail(1, name, f"a custom field's name must match {FIELD_NAME_PATTERN}")
        elif name not in known:
            report.fail(1, name, f"unknown column; known: {', '.join(known)}, custom.NAME")
    if len(set(columns)) != len(columns):
        report.fail(1, "", "a column is named twice")
    if not any(name in columns for name in KEY_COLUMNS):
        report.fail(1, "", "the fan is named by a platform_fan_id or a handle column")
    if report.error_count:
        return
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                report.fail(number, "", f"{len(cells)} cells for {len(columns)} columns")
                continue
            yield number, dict(zip(columns, cells, strict=True))
    except csv.Error as exc:
        report.fail(reader.line_num, "", f"not valid CSV here: {exc}")


def _parse(
    number: int,
    cells: dict[str, str],
    account_id: int | None,
    tags_mode: TagsMode,
    report: ImportReport,
) -> _Row | None:
    """One row as an edit; None (errors reported) when a cell is wrong."""
    errors = report.error_count
    account_cell = cells.get("account_id", "").strip()
    if account_cell:
        if not account_cell.isdigit() or not 1 <= int(account_cell) <= MAX_ID:
            report.fail(number, "account_id", "must be an account id (a whole number)")
        else:
            account_id = int(account_cell)
    if account_id is None:
        report.fail(number, "account_id", "no account: give an account_id column or parameter")
    key_column = next((name for name in KEY_COLUMNS if cells.get(name, "").strip()), None)
    if key_column is None:
        report.fail(number, "", "names no fan: platform_fan_id or handle is empty")
    given: dict[str, Any] = {}
    for column, value in cells.items():
        if value == "" or column not in EDIT_COLUMNS and not column.startswith(CUSTOM_PREFIX):
            continue
        try:
            if column == "tags":
                if value.strip():
                    field = "tags" if tags_mode == TagsMode.replace else "add_tags"
                    given[field] = list(_tags_cell(value))
            elif column == "notes":
                given["notes"] = _NOTES.validate_python(unguard(value))
            else:
                custom = given.setdefault("custom_fields", {})
                custom[column.removeprefix(CUSTOM_PREFIX)] = _FIELD_TEXT.validate_python(
                    unguard(value)
                )
        except ValidationError as exc:
            report.fail(number, column, _message(exc))
    if report.error_count > errors:
        return None
    assert account_id is not None and key_column is not None
    # Each cell was checked by the type its field has: no second pass over the row. Every
    # field is given: a default factory would be inspected anew on each row.
    unset = {"tags": None, "add_tags": [], "remove_tags": [], "notes": None, "custom_fields": {}}
    changes = FanChanges.model_construct(**(unset | given))
    return _Row(number, account_id, key_column, cells[key_column].strip(), changes)


@lru_cache(maxsize=4096)
def _tags_cell(value: str) -> tuple[str, ...]:
    """A `tags` cell's tags, checked (a file repeats the same few cells on many rows)."""
    return tuple(_TAGS.validate_python(unguard(value).split(TAG_SEPARATOR)))


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


@dataclass(frozen=True)
class _Held:
    """A fan as the import reads it: its keys and what an import may change."""

    id: int
    account_id: int
    platform_fan_id: str
    handle: str | None
    erased: bool
    values: FanValues


def _read_fans(session: Session, column: str, pairs: list[tuple[int, str]]) -> list[_Held]:
    """The fans named by (account id, `column` value) `pairs`, in one query. PostgreSQL
    joins the pairs given as one JSON parameter; SQLite matches them as row values. Tags and
    custom fields are read as JSON text, parsed here: what is stored need not validate to be
    replaced, and no driver's JSON handling runs per value."""
    attribute = getattr(Fan, column)
    stmt = select(
        Fan.id,
        Fan.account_id,
        Fan.platform_fan_id,
        Fan.handle,
        Fan.erased_at.is_not(None),
        cast(Fan.tags, Text),
        Fan.notes,
        cast(Fan.custom_fields, Text),
    )
    if _dialect(session) == "postgresql":
        named = (
            text(
                "SELECT account_id, key FROM json_to_recordset(CAST(:pairs AS json)) "
                "AS p(account_id int, key text)"
            )
            .bindparams(pairs=json.dumps([{"account_id": a, "key": k} for a, k in pairs]))
            .columns(account_id=Integer(), key=String())
            .subquery("named")
        )
        stmt = stmt.join(
            named, and_(Fan.account_id == named.c.account_id, attribute == named.c.key)
        )
    else:
        stmt = stmt.where(tuple_(Fan.account_id, attribute).in_(pairs))
    held = []
    for fan_id, account, platform_fan_id, handle, erased, tags, notes, custom in session.execute(
        stmt
    ):
        values = FanValues(_json_list(tags), notes or "", _json_dict(custom))
        held.append(_Held(fan_id, account, platform_fan_id, handle, bool(erased), values))
    return held


def _json_list(stored: str | None) -> list[str]:
    value = json.loads(stored) if stored else []
    return value if isinstance(value, list) else []


def _json_dict(stored: str | None) -> dict[str, Any]:
    value = json.loads(stored) if stored else {}
    return value if isinstance(value, dict) else {}


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _find_fans(
    session: Session, rows: list[_Row], report: ImportReport, seen: dict[int, int]
) -> list[tuple[_Row, _Held]]:
    """Each row with its fan, one query per key column; unknown accounts and fans, erased
    fans and fans named before (`seen`, across chunks) are reported."""
    account_ids = {row.account_id for row in rows}
    accounts = set(session.scalars(select(Account.id).where(Account.id.in_(account_ids))))
    wanted: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for row in rows:
        if row.account_id in accounts:
            wanted[row.key_column].add((row.account_id, row.key))
    found: dict[tuple[int, str, str], _Held] = {}
    for column, pairs in wanted.items():
        for held in _read_fans(session, column, list(pairs)):
            found[(held.account_id, column, getattr(held, column))] = held
    matched: list[tuple[_Row, _Held]] = []
    for row in rows:
        if row.account_id not in accounts:
            report.fail(row.number, "account_id", f"account {row.account_id} not found")
            continue
        held = found.get((row.account_id, row.key_column, row.key))
        if held is None:
            report.fail(
                row.number,
                row.key_column,
                f"no fan with {row.key_column} {row.key!r} on account {row.account_id}",
            )
        elif held.erased:
            report.fail(row.number, row.key_column, "the fan was erased at their request")
        elif held.id in seen:
            report.fail(row.number, row.key_column, f"the same fan as row {seen[held.id]}")
        else:
            seen[held.id] = row.number
            matched.append((row, held))
    return matched


# A chunk's changes in one statement: on PostgreSQL from one JSON parameter holding every
# row (one string to send, where arrays of strings are escaped element by element); on
# SQLite (in-process, where a statement per row costs little) executed for each row.
_PG_WRITE = text(
    "UPDATE fans SET tags = v.new_tags, notes = v.new_notes, custom_fields = v.new_custom "
    "FROM json_to_recordset(CAST(:rows AS json)) "
    "AS v(fan_id int, new_tags json, new_notes text, new_custom json) WHERE fans.id = v.fan_id"
)
_WRITE = (
    update(Fan.__table__)  # type: ignore[arg-type]
    .where(Fan.__table__.c.id == bindparam("fan_id"))
    .values(
        tags=bindparam("new_tags", type_=JSON),
        notes=bindparam("new_notes"),
        custom_fields=bindparam("new_custom", type_=JSON),
    )
)


def _apply_chunk(
    session: Session,
    rows: list[_Row],
    report: ImportReport,
    seen: dict[int, int],
    changed_by_account: dict[int, int],
    *,
    write: bool,
) -> None:
    """Find a chunk's fans, work out their new values and, when `write`, write them."""
    writes: list[dict[str, Any]] = []
    for row, held in _find_fans(session, rows, report, seen):
        report.matched += 1
        try:
            after, changed = apply_changes(held.values, row.changes)
        except FanLimitExceeded as exc:
            report.fail(row.number, exc.field, str(exc))
            continue
        if changed:
            report.changed += 1
            changed_by_account[held.account_id] += 1
            writes.append(
                {
                    "fan_id": held.id,
                    "new_tags": after.tags,
                    "new_notes": after.notes,
                    "new_custom": after.custom_fields,
                }
            )
    if not write or not writes or report.error_count:
        return
    if _dialect(session) == "postgresql":
        session.execute(_PG_WRITE, {"rows": json.dumps(writes)})
    else:
        session.execute(_WRITE, writes)


def import_fans(
    session: Session,
    data: bytes,
    *,
    actor: str,
    account_id: int | None = None,
    tags_mode: TagsMode = TagsMode.add,
    dry_run: bool = False,
) -> ImportReport:
    """Check every row of the CSV `data` and, when none is wrong and this is no dry run,
    apply them all and commit, audited once per account with the counts."""
    report = ImportReport(dry_run=dry_run)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.fail(1, "", f"not UTF-8 text (byte {exc.start})")
        return report
    if "\x00" in text:
        report.fail(1, "", "the file holds a NUL character: not a text CSV")
        return report
    seen: dict[int, int] = {}
    changed_by_account: dict[int, int] = defaultdict(int)
    chunk: list[_Row] = []
    for number, cells in _rows(text, report):
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.fail(number, "", f"more than {MAX_ROWS} rows: split the file")
            break
        row = _parse(number, cells, account_id, tags_mode, report)
        if row is not None:
            chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            _apply_chunk(session, chunk, report, seen, changed_by_account, write=not dry_run)
            chunk = []
    if chunk:
        _apply_chunk(session, chunk, report, seen, changed_by_account, write=not dry_run)
    report.errors.sort(key=lambda error: error.row)
    if report.error_count or dry_run:
        session.rollback()
        return report
    for account, changed in sorted(changed_by_account.items()):
        audit.record(session, actor, "fans.imported", "account", account, changed=changed)
    session.commit()
    report.applied = True
    return report
