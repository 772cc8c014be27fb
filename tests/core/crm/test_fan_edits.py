"""What operators write on a fan: tags normalised and changed one by one or all at once,
notes, custom fields merged, every edit audited without the notes' text, and the limits."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from core.crm import FanChanges, FanLimitExceeded, update_fan
from core.crm.fan_edits import MAX_TAGS
from core.db import Database
from core.errors import Conflict
from tests.helpers.crm import FanSpec, add_account, add_fans, fan_row
from tests.helpers.llm_stub import LLMStub
from tests.helpers.rows import audit_details
from tests.helpers.seeding import DraftFor, Line, seed


@pytest.fixture
def fan_id(db: Database) -> int:
    ids = add_fans(
        db,
        add_account(db),
        FanSpec("f1", tags=["vip", "night"], notes="old", custom_fields={"city": "Leeds"}),
    )
    return ids["f1"]


def _edit(db: Database, fan_id: int, **changes: Any) -> None:
    with db.session() as session:
        update_fan(session, fan_id, FanChanges.model_validate(changes), actor="op")


def test_tags_are_trimmed_lowercased_and_kept_once(db: Database, fan_id: int) -> None:
    _edit(db, fan_id, tags=[" Whale ", "whale", "VIP"])
    assert fan_row(db, fan_id).tags == ["whale", "vip"]


def test_adding_and_removing_tags_keeps_the_others(db: Database, fan_id: int) -> None:
    _edit(db, fan_id, add_tags=["Whale", "vip"], remove_tags=["night"])
    assert fan_row(db, fan_id).tags == ["vip", "whale"]


def test_custom_fields_merge_and_null_removes_one(db: Database, fan_id: int) -> None:
    _edit(db, fan_id, custom_fields={"birthday": "03-14", "visits": 3, "city": None})
    assert fan_row(db, fan_id).custom_fields == {"birthday": "03-14", "visits": 3}


def test_an_edit_is_audited_with_names_but_not_the_notes_text(db: Database, fan_id: int) -> None:
    _edit(db, fan_id, notes="moved to Paris", add_tags=["paris"], custom_fields={"city": "P"})
    assert fan_row(db, fan_id).notes == "moved to Paris"
    [detail] = audit_details(db, "fan.updated")
    assert detail == {
        "actor": "op",
        "subject_id": fan_id,
        "tags_added": ["paris"],
        "tags_removed": [],
        "notes": True,
        "custom_fields": ["city"],
    }
    assert "Paris" not in str(detail)


def test_an_edit_that_changes_nothing_is_not_audited(db: Database, fan_id: int) -> None:
    _edit(db, fan_id, add_tags=["vip"], notes="old")
    assert audit_details(db, "fan.updated") == []


def test_a_fan_holds_at_most_the_allowed_tags(db: Database, fan_id: int) -> None:
    with pytest.raises(FanLimitExceeded) as raised:
        _edit(db, fan_id, add_tags=[f"t{n}" for n in range(MAX_TAGS - 1)])
    assert raised.value.field == "tags"
    assert fan_row(db, fan_id).tags == ["vip", "night"]


def test_an_erased_fan_takes_no_edit(db: Database) -> None:
    ids = add_fans(db, add_account(db), FanSpec("gone", erased=True))
    with pytest.raises(Conflict, match="erased"):
        _edit(db, ids["gone"], notes="still here?")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"add_tags": ["x" * 51]}, "add_tags"),
        ({"notes": "x" * 5001}, "notes"),
        ({"notes": "a\x00b"}, "notes"),
        ({"custom_fields": {"bad name": "x"}}, "custom_fields"),
        ({"custom_fields": {"n": float("inf")}}, "custom_fields"),
        ({"custom_fields": {"n": ["list"]}}, "custom_fields"),
        ({"tag": ["x"]}, "tag"),
    ],
)
def test_a_wrong_change_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        FanChanges.model_validate(changes)
    assert raised.value.errors()[0]["loc"][0] == field


def test_replacing_and_adding_tags_at_once_is_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        FanChanges(tags=["a"], add_tags=["b"])


def test_the_next_draft_reads_the_tags_and_notes_written(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    seeded = seed(db, [Line("inbound", "hey you")])
    _edit(db, seeded.fan_id, tags=["Night-Owl"], notes="Prefers voice notes")

    draft_for(seeded.last)

    system = llm_stub.requests[-1].system
    assert "tags: night-owl" in system and "notes: Prefers voice notes" in system
