"""The API's OpenAPI schema, as truthful about failures as about successes.

FastAPI documents a 422 whose `detail` is a list, and no other error. This API answers
every error with one body (`ErrorOut`: a one-line `detail`, `errors` for bad input,
`reasons` for a guardrail's refusal), and each operation lists the errors it can give:
401 and 403 (every route but `/health`), 404 (an id in the path or the body), 409 (a
change of state), 413 (a body) and 422 (any input).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas.common import ErrorOut

PUBLIC_PATHS = frozenset({"/health"})
CHANGES = frozenset({"post", "put", "patch", "delete"})
_ERROR_REF = "#/components/schemas/ErrorOut"
_WHY = {
    "400": "The body is not JSON.",
    "401": "No API key, or one that is unknown or revoked.",
    "403": "The key's role may not use this route, or may not override.",
    "404": "No row with that id.",
    "409": "The row is in a state that does not allow this, or a guardrail refused it.",
    "413": "The request body is larger than this route takes.",
    "422": "An input is invalid; `detail` and `errors` name it.",
}


def _errors_of(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = []
    if path not in PUBLIC_PATHS:
        codes += ["401", "403"]
    if "{" in path or "requestBody" in operation:
        # A path id, or one in the body (a conversation to send into), may name no row.
        codes.append("404")
    if method in CHANGES:
        codes.append("409")
    if "requestBody" in operation:
        codes += ["400", "413"]
    if "requestBody" in operation or operation.get("parameters"):
        codes.append("422")
    return codes


def build_openapi(app: FastAPI, profiles: list[str]) -> dict[str, Any]:
    """The schema of `app`, with every operation's errors documented as `ErrorOut`, and
    the account's `profile` as one of `profiles`, the ones this fleet has."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error.pop("$defs", {}))
    components["ErrorOut"] = error
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _errors_of(path, method, operation):
                responses[code] = {
                    "description": _WHY[code],
                    "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    for body in ("AccountCreate", "AccountUpdate"):
        field = components.get(body, {}).get("properties", {}).get("profile")
        if field is not None:
            field.pop("pattern", None)
            field["enum"] = profiles
    return schema
