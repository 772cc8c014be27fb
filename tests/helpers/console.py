"""People and their browsers for the console's tests: users made in the database, and a
client signed in through the sign-in form as a browser is."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from core.db import Database
from core.enums import Role
from core.people import create_user

PASSWORD = "correct horse battery"


def make_user(db: Database, name: str = "mia", role: Role = Role.operator) -> None:
    """A console user `name` with `role`, whose password is `PASSWORD`."""
    with db.session() as session:
        create_user(session, name, role, PASSWORD, actor="test")


def form_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "the page has no form token"
    return found.group(1)


def browser(app: FastAPI) -> TestClient:
    """A client as a browser on HTTPS (the session cookie is Secure): cookies kept."""
    return TestClient(app, base_url="https://testserver")


def sign_in(client: TestClient, name: str = "mia", password: str = PASSWORD) -> int:
    """Sign in through the form; the status the form's post was answered with."""
    token = form_token(client.get("/console/sign-in").text)
    response = client.post(
        "/console/sign-in",
        data={"name": name, "password": password, "csrf": token},
        follow_redirects=False,
    )
    return response.status_code


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds seriously or critically wrong with the page as it stands: each
    rule, with how many elements break it."""
    results = Axe().run(page)
    return [
        f"{violation['id']} ({len(violation['nodes'])}): {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def unusable_at_its_width(page: Page) -> list[str]:
    """What a person at the page's width could not use: the page scrolling sideways, or a
    control wider than the window."""
    return list(
        page.evaluate(
            """() => {
            const problems = [];
            const over = document.documentElement.scrollWidth - window.innerWidth;
            if (over > 0) problems.push(`the page is ${over}px wider than the window`);
            for (const el of document.querySelectorAll("a, button, input, select, textarea")) {
              const box = el.getBoundingClientRect();
              if (box.width > 0 && box.right > window.innerWidth + 1)
                problems.push(
                  `${el.tagName.toLowerCase()} ${el.name || el.id || el.textContent.trim()}` +
                  " ends past the window");
            }
            return problems;
          }"""
        )
    )


def sign_in_by_keyboard(page: Page, url: str, name: str = "mia") -> None:
    """Open the console at `url` as a person does and sign in by keyboard alone: the name
    field has the focus (waited for: keys typed before it would go nowhere), Tab reaches
    the password, Enter submits."""
    page.goto(f"{url}/console")
    expect(page).to_have_url(f"{url}/console/sign-in")
    expect(page.locator("#name")).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{url}/console")
    keys_ready(page)


def keys_ready(page: Page) -> None:
    """Wait until the page listens for the console's keys (`static/keys.js`, deferred):
    a key pressed before would go nowhere."""
    expect(page.locator("html")).to_have_attribute("data-keys", "ready")
