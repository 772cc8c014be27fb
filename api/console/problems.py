"""Errors on console pages answer as a page, not as the API's JSON.

A person posting a stale form, opening an unknown draft or typing a bad filter gets the
same one-line reason the API would give (naming the field), on a page that says what to
do next. The API's handlers phrase every error; this module only dresses their answer for
a browser, so the two never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console.auth import COOKIE_PATH
from api.console.pages import templates
from core.errors import Conflict, Forbidden, NotFound
from core.paging import InvalidCursor

Handler = Callable[[Request, Exception], Awaitable[Response]]

# Every error the API's handlers answer (`api.errors.install_error_handlers`).
ANSWERED = (
    StarletteHTTPException,
    RequestValidationError,
    NotFound,
    Forbidden,
    Conflict,
    InvalidCursor,
)
# What a person can do about each kind of answer.
NEXT_STEP = {
    403: "Reload the page and try again; if it happens again, sign in again.",
    404: "It may have been decided or removed meanwhile.",
    409: "Someone else may have acted on it meanwhile: reload to see where it stands.",
}
DEFAULT_STEP = "Go back, correct it and try again."


def _is_console(request: Request) -> bool:
    path = request.url.path
    return (path == COOKIE_PATH or path.startswith(f"{COOKIE_PATH}/")) and not path.startswith(
        f"{COOKIE_PATH}/static/"
    )


def _detail(answer: Response) -> str:
    """The one-line reason of the API's answer."""
    try:
        detail = json.loads(bytes(answer.body)).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return detail if isinstance(detail, str) and detail else "the request could not be done"


def _as_page(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        answer = await api_handler(request, exc)
        if not _is_console(request):
            return answer
        code = answer.status_code
        context = {"detail": _detail(answer), "next_step": NEXT_STEP.get(code, DEFAULT_STEP)}
        page = templates.TemplateResponse(request, "problem.html", context, status_code=code)
        for name in ("allow", "retry-after"):
            if name in answer.headers:
                page.headers[name] = answer.headers[name]
        return page

    return handle


def install_problem_pages(app: FastAPI) -> None:
    """Answer the errors on console paths as pages; call after the API's handlers are
    installed, which it wraps."""
    for kind in ANSWERED:
        app.add_exception_handler(kind, _as_page(app.exception_handlers[kind]))
