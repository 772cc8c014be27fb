"""The API documents itself: Swagger UI at `/docs` (its files served from this host) with
an Authorize button for an API key, ReDoc at `/redoc`, and a schema whose main request
bodies carry examples and whose operator-facing fields say what they do. With `api_docs`
off, only key holders read the schema."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from api.app import create_app
from core.settings import Settings
from tests.helpers.api import ApiKeys, LiveApi

# The bodies operators and admins send: each shows an example and describes every field.
OPERATOR_BODIES = (
    "AccountCreate",
    "AccountUpdate",
    "SweepTrigger",
    "BulkApprove",
    "DraftApprove",
    "DraftReject",
    "SendCreate",
    "BulkSendCreate",
    "ApiKeyCreate",
)


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_swagger_ui_is_served_from_this_host_without_a_key(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    script = client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/redoc").status_code == 200


def test_the_schema_declares_the_bearer_scheme_on_every_protected_route(
    schema: dict[str, Any],
) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (`fleet keys create`), sent as `Authorization: Bearer KEY`.",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            declared = {name for option in operation.get("security", []) for name in option}
            assert ("HTTPBearer" in declared) == (path != "/health"), (method, path)


@pytest.mark.parametrize("body", OPERATOR_BODIES)
def test_operator_bodies_have_examples_and_describe_every_field(
    schema: dict[str, Any], body: str
) -> None:
    component = schema["components"]["schemas"][body]
    assert component.get("examples"), f"{body} shows no example"
    undescribed = [
        name for name, field in component["properties"].items() if "description" not in field
    ]
    assert undescribed == [], f"{body} leaves {undescribed} undescribed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_with_docs_off_only_key_holders_read_the_schema(
    settings: Settings, api_keys: ApiKeys
) -> None:
    app = create_app(settings.model_copy(update={"api_docs": False}))
    with TestClient(app) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/static/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 404, path
        assert client.get("/v1/openapi.json").status_code == 401
        assert client.get("/v1/openapi.json", headers=api_keys.headers("operator")).is_success


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_authorize_in_swagger_ui_then_a_call_from_the_page_succeeds(
    page: Page, live_api: LiveApi
) -> None:
    page.goto(f"{live_api.url}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux")
    bearer = dialog.locator(".auth-container").filter(has_text="HTTPBearer")
    bearer.locator("input").fill(live_api.operator_key)
    bearer.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close").first.click()
    operation = page.locator("#operations-accounts-list_accounts_v1_accounts_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status")
    expect(status).to_have_text("200", timeout=30_000)
