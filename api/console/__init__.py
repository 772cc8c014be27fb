"""The operator console at `/console`: server-rendered pages for the people who approve
drafts, signed in with a name and password (`core.people`), not an API key."""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.console.auth import NotSignedIn
from api.console.fleet import router as fleet_router
from api.console.fleet import shared_reading
from api.console.live import router as live_router
from api.console.pages import STATIC_DIR, router
from api.console.problems import install_problem_pages
from api.console.review import router as review_router


def install_console(app: FastAPI) -> None:
    """Serve the console: its pages, its static files, the sign-in page for any request
    without a live session, and errors as pages. Call after the API's error handlers."""

    async def to_sign_in(_request: Request, _exc: Exception) -> RedirectResponse:
        return RedirectResponse("/console/sign-in", status_code=303)

    app.include_router(router)
    app.include_router(review_router)
    app.include_router(live_router)
    app.include_router(fleet_router)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_exception_handler(NotSignedIn, to_sign_in)
    app.state.fleet_reading = shared_reading()
    install_problem_pages(app)


__all__ = ["install_console"]
