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

Set-based: the fans are found a chunk of keys per query, not a query per row.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crm.csv_cells import CUSTOM_PREFIX, TAG_SEPARATOR, unguard
from core.crm.fan_edits import (
    FIELD_NAME_PATTERN,
    FanChanges,
    FanLimitExceeded,
    FieldName,
    FieldText,
    Notes,
    Tags,
    changed_fields,
)
from core.errors import MAX_ID
from core.models import Account, Fan

MAX_ROWS = 100_000
# Errors listed in a report; the count covers them all.
MAX_ERRORS_SHOWN = 100
# Keys per query when finding the file's fans.
_CHUNK = 1000
KEY_COLUMNS = ("platform_fan_id", "handle")
EDIT_COLUMNS = ("tags", "notes")
READ_ONLY_COLUMNS = ("id", "name", "tier", "total_spend_cents", "last_active_at")

_TAGS = TypeAdapter(Tags)
_NOTES = TypeAdapter(Notes)
_FIELD_NAME = TypeAdapter(FieldName)
_FIELD_TEXT = TypeAdapter(FieldText)


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


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


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
    changes: dict[str, Any] = {}
    tags_cell = unguard(cells.get("tags", ""))
    if tags_cell.strip():
        try:
            tags = _TAGS.validate_python(tags_cell.split(TAG_SEPARATOR))
            changes["tags" if tags_mode == TagsMode.replace else "add_tags"] = tags
        except ValidationError as exc:
            report.fail(number, "tags", _message(exc))
    notes_cell = unguard(cells.get("notes", ""))
    if notes_cell:
        try:
            changes["notes"] = _NOTES.validate_python(notes_cell)
        except ValidationError as exc:
            report.fail(number, "notes", _message(exc))
    custom: dict[str, str] = {}
    for name, value in cells.items():
        if name.startswith(CUSTOM_PREFIX) and value != "":
            try:
                custom[name.removeprefix(CUSTOM_PREFIX)] = _FIELD_TEXT.validate_python(
                    unguard(value)
                )
            except ValidationError as exc:
                report.fail(number, name, _message(exc))
    if custom:
        changes["custom_fields"] = custom
    if report.error_count > errors or account_id is None or key_column is None:
        return None
    return _Row(number, account_id, key_column, cells[key_column].strip(), FanChanges(**changes))


def _find_fans(session: Session, rows: list[_Row], report: ImportReport) -> list[tuple[_Row, Fan]]:
    """Each row with its fan, a chunk of keys per query; unknown, erased and repeated
    fans are reported."""
    wanted: dict[tuple[int, str], list[str]] = defaultdict(list)
    for row in rows:
        wanted[(row.account_id, row.key_column)].append(row.key)
    accounts = set(
        session.scalars(select(Account.id).where(Account.id.in_({r.account_id for r in rows})))
    )
    found: dict[tuple[int, str, str], Fan] = {}
    for (account_id, column), keys in wanted.items():
        if account_id not in accounts:
            continue
        attribute = getattr(Fan, column)
        unique = sorted(set(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            for fan in session.scalars(
                select(Fan).where(Fan.account_id == account_id, attribute.in_(chunk))
            ):
                found[(account_id, column, getattr(fan, column))] = fan
    matched: list[tuple[_Row, Fan]] = []
    seen: dict[int, int] = {}
    for row in rows:
        if row.account_id not in accounts:
            report.fail(row.number, "account_id", f"account {row.account_id} not found")
            continue
        fan = found.get((row.account_id, row.key_column, row.key))
        if fan is None:
            report.fail(
                row.number,
                row.key_column,
                f"no fan with {row.key_column} {row.key!r} on account {row.account_id}",
            )
        elif fan.erased_at is not None:
            report.fail(row.number, row.key_column, "the fan was erased at their request")
        elif fan.id in seen:
            report.fail(row.number, row.key_column, f"the same fan as row {seen[fan.id]}")
        else:
            seen[fan.id] = row.number
            matched.append((row, fan))
    return matched


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
    rows: list[_Row] = []
    for number, cells in _rows(text, report):
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.fail(number, "", f"more than {MAX_ROWS} rows: split the file")
            return report
        row = _parse(number, cells, account_id, tags_mode, report)
        if row is not None:
            rows.append(row)
    matched = _find_fans(session, rows, report) if rows else []
    report.matched = len(matched)
    changed_by_account: dict[int, int] = defaultdict(int)
    for row, fan in matched:
        try:
            if changed_fields(fan, row.changes):
                report.changed += 1
                changed_by_account[fan.account_id] += 1
        except FanLimitExceeded as exc:
            report.fail(row.number, exc.field, str(exc))
    report.errors.sort(key=lambda error: error.row)
    if report.error_count or dry_run:
        session.rollback()
        return report
    for account, changed in sorted(changed_by_account.items()):
        audit.record(session, actor, "fans.imported", "account", account, changed=changed)
    session.commit()
    report.applied = True
    return report
