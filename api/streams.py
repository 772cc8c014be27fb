"""CSV downloads: a streamed response the browser saves as a file."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.responses import StreamingResponse

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
# What an export route's 200 is, for the schema.
CSV_RESPONSE = {200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}}


def csv_response(chunks: Iterator[str], filename: str) -> StreamingResponse:
    """`chunks` of CSV text streamed as the download `filename`."""
    return StreamingResponse(
        chunks,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
