"""`POST /v1/fans/import`: a CSV body applied whole, or refused whole with a 422 naming
each bad row and column; a dry run answers the same and writes nothing; a file past its
limit is a 413."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from core.db import Database
from core.settings import Settings
from tests.helpers.crm import FanSpec, add_fans, fan_row

CSV = {"Content-Type": "text/csv"}


def _post(client: TestClient, headers: dict[str, str], data: str, **params: Any) -> Any:
    return client.post(
        "/v1/fans/import", headers={**headers, **CSV}, content=data.encode(), params=params
    )


def test_a_good_file_is_applied(
    client: TestClient, admin: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    ids = add_fans(db, account["id"], FanSpec("f1"))
    response = _post(client, admin, "platform_fan_id,tags\nf1,vip\n", account_id=account["id"])
    assert response.status_code == 200, response.text
    assert response.json() | {"errors": []} == {
        "rows": 1,
        "matched": 1,
        "changed": 1,
        "unchanged": 0,
        "dry_run": False,
        "applied": True,
        "errors": [],
        "error_count": 0,
    }
    assert fan_row(db, ids["f1"]).tags == ["vip"]


def test_a_bad_row_is_a_422_naming_row_and_column_and_nothing_is_written(
    client: TestClient, admin: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    ids = add_fans(db, account["id"], FanSpec("f1"))
    data = "platform_fan_id,tags\nf1,vip\nf2,x\n"
    response = _post(client, admin, data, account_id=account["id"])
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("nothing was imported: row 3, platform_fan_id: no fan")
    assert [error["loc"] for error in body["errors"]] == [["body", 3, "platform_fan_id"]]
    assert body["report"]["applied"] is False
    assert fan_row(db, ids["f1"]).tags == []


def test_a_dry_run_answers_as_the_import_would_and_writes_nothing(
    client: TestClient, admin: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    ids = add_fans(db, account["id"], FanSpec("f1"))
    bad = _post(client, admin, "handle,notes\nf1,x\n", account_id=account["id"], dry_run=True)
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("nothing would be imported: row 2, handle")
    fine = _post(client, admin, "platform_fan_id,notes\nf1,x\n", account_id=1, dry_run=True)
    assert fine.status_code == 200
    assert (fine.json()["changed"], fine.json()["applied"]) == (1, False)
    assert fan_row(db, ids["f1"]).notes == ""


def test_a_bad_parameter_is_a_422_naming_it(client: TestClient, admin: dict[str, str]) -> None:
    response = _post(client, admin, "handle\nx\n", tags_mode="merge")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "tags_mode"]


def test_only_admins_import(client: TestClient, operator: dict[str, str]) -> None:
    assert _post(client, operator, "handle\nx\n").status_code == 403


def test_a_file_past_the_import_limit_is_a_413(settings: Settings, admin: dict[str, str]) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1024, "max_import_bytes": 4096})
    with TestClient(create_app(small)) as client:
        # Larger than any other body may be, and within the import's own limit.
        fits = _post(client, admin, "handle\n" + "x\n" * 1500, dry_run=True)
        assert fits.status_code == 422 and fits.json()["report"]["rows"] == 1500
        too_big = _post(client, admin, "handle\n" + "x\n" * 2100)
        assert too_big.status_code == 413
        assert "FLEET_MAX_IMPORT_BYTES" in too_big.json()["detail"]
