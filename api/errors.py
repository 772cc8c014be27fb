"""Turning domain errors and validation failures into plain HTTP answers."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import Conflict, Forbidden, NotFound, Refused
from core.paging import InvalidCursor


def invalid(message: str, *loc: str) -> RequestValidationError:
    """A 422 naming the input at `loc` (like `"query", "since"` or `"body", "profile"`),
    answered like any other validation failure."""
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "request"


async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Conflict) -> JSONResponse:
    body: dict[str, object] = {"detail": str(exc)}
    if isinstance(exc, Refused):
        body["reasons"] = exc.reasons
    return JSONResponse(body, status_code=status.HTTP_409_CONFLICT)


async def _forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_403_FORBIDDEN)


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # The rejected input is left out: it may be a password, and the caller sent it anyway.
    errors = [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in exc.errors()
    ]
    detail = "; ".join(f"{_location(tuple(e['loc']))}: {e['msg']}" for e in errors)
    return JSONResponse(
        {"detail": detail, "errors": jsonable_encoder(errors)},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _bad_cursor(request: Request, exc: InvalidCursor) -> JSONResponse:
    return await _invalid(request, invalid(str(exc).removeprefix("cursor: "), "query", "cursor"))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
        return await http_exception_handler(request, exc)
    # Starlette names the methods of one route; a path several routes serve (GET and PATCH
    # of an account) allows all of theirs, as the schema says.
    allowed = sorted(
        method.upper()
        for template, operations in request.app.openapi().get("paths", {}).items()
        if re.fullmatch(re.sub(r"\{[^}]+\}", r"\\d+", template), request.url.path)
        for method in operations
    )
    return JSONResponse(
        {"detail": f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"},
        status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
        headers={"Allow": ", ".join(allowed)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """403 for a role that may not, 404 for unknown ids, 409 for state conflicts (with the
    `reasons` a guardrail gave), 422 with a readable `detail`."""
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(InvalidCursor, _bad_cursor)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
