"""CSV exports: the fans' file names every custom field, guards formula-like cells, reads
back into an import unchanged, and streams a batch at a time; the sends' file holds no
message text."""

from __future__ import annotations

import csv
import io

import pytest

from core.crm import FanFilter, export_fans, export_sends, import_fans
from core.crm import exports as exports_module
from core.db import Database
from core.enums import SendStatus
from tests.helpers.crm import FanSpec, add_account, add_fans, add_send
from tests.helpers.seeding import T0


@pytest.fixture
def account_id(db: Database) -> int:
    account_id = add_account(db)
    add_fans(
        db,
        account_id,
        FanSpec("f1", name="=HYPERLINK(1)", tags=["vip", "night"], custom_fields={"city": "Leeds"}),
        FanSpec("f2", name="Alex", handle="alex", notes="line one\nline two", last_active=T0),
        FanSpec("f3", name="Jo", custom_fields={"visits": 3}),
        FanSpec("gone", erased=True),
    )
    return account_id


def _fans_csv(db: Database, fan_filter: FanFilter) -> list[dict[str, str]]:
    with db.session() as session:
        text = "".join(export_fans(session, db, fan_filter))
    return list(csv.DictReader(io.StringIO(text)))


def test_the_fans_file_has_a_column_per_custom_field_and_guards_formulas(
    db: Database, account_id: int
) -> None:
    rows = _fans_csv(db, FanFilter(account_id=account_id))
    assert list(rows[0]) == [*exports_module.FAN_COLUMNS, "custom.city", "custom.visits"]
    by_id = {row["platform_fan_id"]: row for row in rows}
    assert set(by_id) == {"f1", "f2", "f3"}
    assert by_id["f1"]["name"] == "'=HYPERLINK(1)"
    assert (by_id["f1"]["tags"], by_id["f1"]["custom.city"]) == ("vip;night", "Leeds")
    assert by_id["f2"]["notes"] == "line one\nline two"
    assert by_id["f2"]["last_active_at"] == T0.isoformat()
    assert (by_id["f3"]["custom.visits"], by_id["f3"]["custom.city"]) == ("3", "")


def test_the_filter_selects_the_rows(db: Database, account_id: int) -> None:
    rows = _fans_csv(db, FanFilter(tags=["vip"]))
    assert [row["platform_fan_id"] for row in rows] == ["f1"]


def test_an_exported_file_imports_back_changing_nothing_but_typed_fields(
    db: Database, account_id: int
) -> None:
    with db.session() as session:
        data = "".join(export_fans(session, db, FanFilter(account_id=account_id))).encode()
    with db.session() as session:
        report = import_fans(session, data, actor="admin")
    # Custom fields come back as text: 3 becomes "3".
    assert (report.applied, report.matched, report.changed) == (True, 3, 1)


def test_the_file_streams_a_batch_at_a_time(
    db: Database, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports_module, "BATCH", 1)
    with db.session() as session:
        chunks = list(export_fans(session, db, FanFilter()))
    assert len(chunks) == 3
    assert chunks[0].startswith("id,account_id,")


def test_the_sends_file_holds_no_message_text(db: Database, account_id: int) -> None:
    ids = add_fans(db, account_id, FanSpec("f9"))
    sent = add_send(db, ids["f9"], text="private words", status=SendStatus.delivered)
    add_send(db, ids["f9"], text="more words")
    with db.session() as session:
        text = "".join(export_sends(session, db, status=SendStatus.delivered))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(int(row["id"]), row["fan_id"]) for row in rows] == [(sent, str(ids["f9"]))]
    assert "words" not in text
