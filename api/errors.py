"""Turning domain errors and validation failures into plain HTTP answers."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.errors import Conflict, Forbidden, NotFound, Refused


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


def install_error_handlers(app: FastAPI) -> None:
    """403 for a role that may not, 404 for unknown ids, 409 for state conflicts (with the
    `reasons` a guardrail gave), 422 with a readable `detail`."""
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(RequestValidationError, _invalid)
