"""`POST /v1/fans/import`: fans' tags, notes and custom fields from a CSV file, all or
nothing. A router of its own: a file is larger than any other body a person sends
(`FLEET_MAX_IMPORT_BYTES`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import AccountFilter, AdminDep, SessionDep
from api.errors import invalid
from api.schemas.fans import ImportReportOut
from core.crm import TagsMode, import_fans
from core.settings import MAX_IMPORT_BYTES_CEILING

router = APIRouter(prefix="/v1/fans", tags=["fans"])

_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IMPORT_BYTES_CEILING}
            }
        },
        "description": "A CSV file, UTF-8, with a header row; at most FLEET_MAX_IMPORT_BYTES "
        "(32 MiB unless configured), a 413 past it.",
    }
}


def _rejected(report: ImportReportOut) -> JSONResponse:
    """A 422 in the API's error body: each bad cell in `errors`, located as row and
    column, and the report."""
    verb = "would be" if report.dry_run else "was"
    shown = "; ".join(
        f"row {error.row}" + (f", {error.column}" if error.column else "") + f": {error.message}"
        for error in report.errors[:3]
    )
    more = f" (and {report.error_count - 3} more)" if report.error_count > 3 else ""
    errors = [
        {"loc": ["body", error.row, error.column], "msg": error.message, "type": "value_error"}
        for error in report.errors
    ]
    return JSONResponse(
        {
            "detail": f"nothing {verb} imported: {shown}{more}",
            "errors": errors,
            "report": report.model_dump(mode="json"),
        },
        status_code=422,
    )


@router.post(
    "/import",
    response_model=ImportReportOut,
    openapi_extra=_CSV_BODY,
    responses={413: {"description": "The file is larger than FLEET_MAX_IMPORT_BYTES."}},
)
async def import_csv(
    request: Request,
    session: SessionDep,
    principal: AdminDep,
    account_id: AccountFilter = None,
    tags_mode: Annotated[
        TagsMode, Query(description="`add` the file's tags to the fan's, or `replace` them.")
    ] = TagsMode.add,
    dry_run: Annotated[
        bool, Query(description="Check every row and count; write nothing.")
    ] = False,
) -> ImportReportOut | JSONResponse:
    """Set fans' tags, notes and custom fields from a CSV body (`Content-Type: text/csv`).
    Each row names a fan by `platform_fan_id` or `handle`, on the account in its
    `account_id` column or the `account_id` parameter; `tags` (split by `;`), `notes` and
    `custom.NAME` columns set what they name, and an empty cell changes nothing. Every row
    is checked first: any bad cell, unknown or repeated fan answers 422 listing each (row,
    column, what is wrong) and writes nothing. A `dry_run` checks and counts the same way,
    answering the same 200 or 422, and writes nothing either."""
    data = await request.body()
    if not data:
        raise invalid("a CSV file is required (Content-Type: text/csv)", "body")
    report = ImportReportOut.of(
        await run_in_threadpool(
            import_fans,
            session,
            data,
            actor=principal.name,
            account_id=account_id,
            tags_mode=tags_mode,
            dry_run=dry_run,
        )
    )
    if report.error_count:
        return _rejected(report)
    return report
