"""The control plane's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from redis import Redis

from api.console import install_console
from api.deps import PrincipalDep
from api.docs import app_with_docs
from api.errors import install_error_handlers
from api.middleware import RequestLogMiddleware, TooLargeAsJsonMiddleware
from api.openapi import build_openapi
from api.routers import (
    accounts,
    analytics,
    audit,
    campaigns,
    conversations,
    drafts,
    fans,
    fleet,
    health,
    imports,
    keys,
    metrics,
    segments,
    sends,
    sweeps,
    worker,
)
from core.db import Database
from core.metrics import FleetCollector
from core.schema import require_current
from core.settings import Settings, get_settings


@cache
def _route_groups(
    max_body_bytes: int, max_worker_body_bytes: int, max_import_bytes: int
) -> tuple[APIRouter, ...]:
    """Every route, grouped by body limit: the people's routes, the workers', whose
    ingest batches and browser session state are larger than anything a person sends, and
    CSV imports, larger still.
    Limits per group, not the app's: the app's answers 413 outside every middleware, as
    plain text; a route's answers through them, as the API's JSON. Built once per pair of
    limits, since assembling the routes costs more than the rest of an app."""
    people = APIRouter(max_body_size=max_body_bytes)
    for module in (
        health,
        accounts,
        sweeps,
        conversations,
        drafts,
        sends,
        fleet,
        analytics,
        keys,
        fans,
        segments,
        campaigns,
        audit,
        metrics,
    ):
        people.include_router(module.router)
    workers = APIRouter(max_body_size=max_worker_body_bytes)
    workers.include_router(worker.router)
    uploads = APIRouter(max_body_size=max_import_bytes)
    uploads.include_router(imports.router)
    return people, workers, uploads


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (the process settings by default). At startup it
    refuses a database that is not at this release's revision (`core.schema`); Redis must
    be configured, since every approval and sweep enqueues a job."""
    settings = settings or get_settings()
    if not settings.redis_url:
        raise ValueError("the control plane needs a Redis URL (FLEET_REDIS_URL)")
    database = Database(settings.database_url)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Never migrates by itself: `fleet db upgrade` does, once, for every process.
        require_current(database)
        yield
        redis.close()
        database.dispose()

    # The docs pages and the schema say what the API is, never what it holds: with
    # `api_docs` off, only key holders read the schema (at /v1/openapi.json).
    app = app_with_docs(
        settings.api_docs,
        title="Inbox Fleet control plane",
        summary="CRM, drafts, approvals and sends for the browser worker fleet.",
        description="Every route but `/health` and these docs takes an API key: press "
        "**Authorize** and give it as a bearer token (or send it as `X-API-Key`). Make one "
        "with `fleet keys create --role operator`.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.redis = redis
    app.state.metrics = CollectorRegistry(auto_describe=False)
    app.state.metrics.register(FleetCollector(database, redis, settings))
    install_error_handlers(app)
    install_console(app)
    app.add_middleware(TooLargeAsJsonMiddleware)
    app.add_middleware(RequestLogMiddleware)
    for group in _route_groups(
        settings.max_body_bytes, settings.max_worker_body_bytes, settings.max_import_bytes
    ):
        app.include_router(group)

    schema: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not schema:
            names = sorted(path.stem for path in settings.profiles_dir.glob("*.toml"))
            schema.update(build_openapi(app, names))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/v1/openapi.json", include_in_schema=False)
    def openapi_json(_principal: PrincipalDep) -> dict[str, Any]:
        """The OpenAPI schema of this API, for any key holder."""
        return app.openapi()

    return app
