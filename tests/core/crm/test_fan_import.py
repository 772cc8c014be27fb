"""Importing fans' tags, notes and custom fields from a CSV: rows keyed by platform id or
handle, a dry run that writes nothing, and one bad row that keeps every row out, each
error told by row and column."""

from __future__ import annotations

import pytest

from core.crm import ImportReport, TagsMode, import_fans
from core.crm.fan_import import MAX_ERRORS_SHOWN, RowError
from core.db import Database
from tests.helpers.crm import FanSpec, add_account, add_fans, fan_row
from tests.helpers.rows import audit_details


@pytest.fixture
def account_id(db: Database) -> int:
    return add_account(db)


@pytest.fixture
def fans(db: Database, account_id: int) -> dict[str, int]:
    return add_fans(
        db,
        account_id,
        FanSpec("f1", handle="sammy", tags=["vip"], notes="old"),
        FanSpec("f2", handle="alex"),
        FanSpec("gone", erased=True),
    )


def _import(
    db: Database,
    text: str,
    account_id: int | None,
    *,
    tags_mode: TagsMode = TagsMode.add,
    dry_run: bool = False,
) -> ImportReport:
    with db.session() as session:
        return import_fans(
            session,
            text.encode(),
            actor="admin",
            account_id=account_id,
            tags_mode=tags_mode,
            dry_run=dry_run,
        )


def test_rows_keyed_by_platform_id_or_handle_are_applied(
    db: Database, account_id: int, fans: dict[str, int]
) -> None:
    csv = (
        "platform_fan_id,handle,tags,notes,custom.city\n"
        "f1,,Whale;night,big tipper,Leeds\n"
        ",alex,new,,\n"
    )
    report = _import(db, csv, account_id)
    assert (report.applied, report.rows, report.matched, report.changed) == (True, 2, 2, 2)
    f1, f2 = fan_row(db, fans["f1"]), fan_row(db, fans["f2"])
    assert (f1.tags, f1.notes, f1.custom_fields) == (
        ["vip", "whale", "night"],
        "big tipper",
        {"city": "Leeds"},
    )
    # Empty cells change nothing.
    assert (f2.tags, f2.notes, f2.custom_fields) == (["new"], "", {})
    assert audit_details(db, "fans.imported") == [
        {"actor": "admin", "subject_id": account_id, "changed": 2}
    ]


def test_replace_mode_replaces_the_fans_tags(
    db: Database, account_id: int, fans: dict[str, int]
) -> None:
    _import(db, "platform_fan_id,tags\nf1,whale\n", account_id, tags_mode=TagsMode.replace)
    assert fan_row(db, fans["f1"]).tags == ["whale"]


def test_the_account_may_come_from_a_column(
    db: Database, account_id: int, fans: dict[str, int]
) -> None:
    report = _import(db, f"account_id,handle,notes\n{account_id},sammy,hi\n", None)
    assert report.applied and fan_row(db, fans["f1"]).notes == "hi"


def test_a_dry_run_counts_and_writes_nothing(
    db: Database, account_id: int, fans: dict[str, int]
) -> None:
    report = _import(db, "handle,tags\nsammy,vip\nalex,x\n", account_id, dry_run=True)
    assert (report.applied, report.matched, report.changed, report.unchanged) == (
        False,
        2,
        1,
        1,
    )
    assert fan_row(db, fans["f2"]).tags == []


def test_one_bad_row_keeps_every_row_out(
    db: Database, account_id: int, fans: dict[str, int]
) -> None:
    csv = "\n".join(
        [
            "platform_fan_id,tags,notes,custom.city",
            "f1,fine,fine,fine",
            "f2,bad\x01tag,,",
            "nobody,,,",
            "gone,x,,",
            "f1,again,,",
            ",x,,",
            "f2,,," + "x" * 5001,
            "f2,,,too,many",
        ]
    )
    report = _import(db, csv, account_id)
    assert not report.applied
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "tags"),
        (4, "platform_fan_id"),
        (5, "platform_fan_id"),
        (6, "platform_fan_id"),
        (7, ""),
        (8, "custom.city"),
        (9, ""),
    ]
    assert "no fan with platform_fan_id 'nobody'" in report.errors[1].message
    assert "erased" in report.errors[2].message
    assert "row 2" in report.errors[3].message
    assert fan_row(db, fans["f1"]).tags == ["vip"]
    assert audit_details(db, "fans.imported") == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("", RowError(1, "", "the file is empty: a header row is needed")),
        ("handle,colour\nx,y\n", RowError(1, "colour", "unknown column")),
        ("handle,custom.bad name\nx,y\n", RowError(1, "custom.bad name", "a custom field")),
        ("tags\nx\n", RowError(1, "", "the fan is named by")),
        ("handle,handle\nx,y\n", RowError(1, "", "a column is named twice")),
        ("account_id,handle\nabc,sammy\n", RowError(2, "account_id", "must be an account id")),
        ("account_id,handle\n999,sammy\n", RowError(2, "account_id", "account 999 not found")),
    ],
)
def test_a_wrong_file_is_told_by_row_and_column(
    db: Database, fans: dict[str, int], data: str, error: RowError
) -> None:
    report = _import(db, data, None)
    first = report.errors[0]
    assert (first.row, first.column) == (error.row, error.column)
    assert first.message.startswith(error.message)
    assert not report.applied


def test_text_that_is_not_utf8_is_refused(db: Database, account_id: int) -> None:
    with db.session() as session:
        report = import_fans(session, "handle\ncafé\n".encode("latin-1"), actor="a", account_id=1)
    assert report.errors[0].message.startswith("not UTF-8")


def test_a_spreadsheets_bom_and_crlf_lines_are_read(
    db: Database, account_id: int, fans: dict[str, int]
) -> None:
    report = _import(db, "\ufeffhandle,notes\r\nsammy,hi\r\n", account_id)
    assert report.applied and fan_row(db, fans["f1"]).notes == "hi"


def test_errors_past_the_shown_ones_are_counted(db: Database, account_id: int) -> None:
    rows = "\n".join(f"nobody-{n}" for n in range(MAX_ERRORS_SHOWN + 5))
    report = _import(db, "platform_fan_id\n" + rows, account_id)
    assert (len(report.errors), report.error_count) == (MAX_ERRORS_SHOWN, MAX_ERRORS_SHOWN + 5)
