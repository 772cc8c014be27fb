"""The API's own documentation: Swagger UI at `/docs`, with the Authorize button for an
API key, and ReDoc at `/redoc`, both reading `/openapi.json`.

Their scripts come from the `fastapi-offline` package and are served by the control plane
itself, so the pages work on a network that reaches nothing but the control plane (and
Swagger UI 5 reads the OpenAPI 3.1 schema FastAPI writes).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

OPENAPI_URL = "/openapi.json"


def app_with_docs(enabled: bool, **kwargs: Any) -> FastAPI:
    """A FastAPI app built with `kwargs`, serving its docs pages and schema when `enabled`
    and neither otherwise."""
    if not enabled:
        return FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **kwargs)
    return FastAPIOffline(
        openapi_url=OPENAPI_URL,
        docs_url="/docs",
        redoc_url="/redoc",
        static_url="/docs/static",
        # The key entered under Authorize survives a reload of the page.
        swagger_ui_parameters={"persistAuthorization": True},
        **kwargs,
    )
