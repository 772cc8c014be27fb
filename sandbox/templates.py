"""HTML pages from the files in `templates/`, with `{{name}}` placeholders.

Values are HTML-escaped unless wrapped in `Safe` (markup this module built itself), so
names and messages can never inject markup into a page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse

from sandbox.accounts import Account

_DIR = Path(__file__).parent / "templates"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class Safe(str):
    """A string of markup that is inserted as is."""


def render(name: str, **values: str) -> Safe:
    """Template `name` with its placeholders filled; a missing value raises KeyError."""

    def fill(match: re.Match[str]) -> str:
        value = values[match[1]]
        return value if isinstance(value, Safe) else html.escape(value)

    return Safe(_PLACEHOLDER.sub(fill, _template(name)))


def page(
    title: str,
    content: Safe,
    account: Account | None,
    *,
    scripts: Sequence[str] = (),
    status_code: int = 200,
    skin: str = "fanbox",
) -> HTMLResponse:
    """A full page of `skin`: header (with the account menu when logged in), content and
    scripts. Velvet's templates live in `templates/velvet/`."""
    folder = "velvet/" if skin == "velvet" else ""
    menu = Safe("")
    if account is not None:
        menu = render(
            f"{folder}account_menu.html",
            initials=initials(account.display_name),
            display_name=account.display_name,
            username=account.username,
        )
    tags = "".join(f'<script src="/static/{html.escape(src)}" defer></script>' for src in scripts)
    body = render(
        f"{folder}layout.html", title=title, account_menu=menu, content=content, scripts=Safe(tags)
    )
    # no-store: a page restored from the back/forward cache would show stale unread counts.
    return HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


def initials(name: str) -> str:
    """Up to two capital initials for an avatar, like `JD` for "jane doe"."""
    letters = [word[0] for word in name.split() if word][:2]
    return "".join(letters).upper() or "?"


@cache
def _template(name: str) -> str:
    return (_DIR / name).read_text(encoding="utf-8")
