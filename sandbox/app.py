"""The sandbox web app: pages, their JSON API, static files and (optionally) control."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from loguru import logger

from sandbox import api, control, pages, velvet
from sandbox.auth import LoginRequired, TooManyActions
from sandbox.config import SandboxConfig
from sandbox.db import Database
from sandbox.errors import SandboxError
from sandbox.guards import Guards
from sandbox.sending import SLOW_DOWN
from sandbox.state import SandboxState, state_of
from sandbox.templates import page, render

STATIC_DIR = Path(__file__).parent / "static"


def create_app(config: SandboxConfig) -> FastAPI:
    """A sandbox platform app over the database at `config.db_path` (created if missing)."""
    state = SandboxState(
        config=config, db=Database(config.db_path), guards=Guards.from_config(config)
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.db.close()

    # No /docs: a real platform does not publish its API, and workers must use the pages.
    app = FastAPI(
        title="Sandbox creator platform",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.sandbox = state
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(velvet.router if config.skin == "velvet" else pages.router)
    app.include_router(api.router)
    if config.control_enabled:
        app.include_router(control.router)
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(SandboxError, _sandbox_error)
    app.add_exception_handler(TooManyActions, _too_many_actions)
    logger.info(
        "sandbox {} app over {} (control {}, time scale {})",
        config.skin,
        config.db_path,
        "on" if config.control_enabled else "off",
        config.time_scale,
    )
    return app


async def _to_login(_: Request, error: Exception) -> RedirectResponse:
    assert isinstance(error, LoginRequired)
    return RedirectResponse(error.login_url, status_code=303)


async def _sandbox_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SandboxError)
    return JSONResponse({"detail": str(error)}, status_code=error.status_code)


async def _too_many_actions(request: Request, error: Exception) -> Response:
    # A page gets a page with the composer's banner text, so a browser driver sees the
    # same throttle signal (data-testid=slow-down) wherever it was refused.
    assert isinstance(error, TooManyActions)
    headers = {"Retry-After": str(math.ceil(error.retry_after_s))}
    if not error.page:
        body = {"detail": SLOW_DOWN, "retry_after_s": error.retry_after_s}
        return JSONResponse(body, status_code=429, headers=headers)
    skin = state_of(request).config.skin
    folder = "velvet/" if skin == "velvet" else ""
    response = page(
        "Too many requests",
        render(f"{folder}slow_down.html", text=SLOW_DOWN),
        error.account,
        status_code=429,
        skin=skin,
    )
    response.headers.update(headers)
    return response
