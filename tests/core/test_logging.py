"""What a log may hold: a credential never, in a field, a message or a traceback."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from loguru import logger

from core.logging import REDACTED, configure_logging, redact_text
from core.settings import Settings

MARKER = "LEAKPW-7731"


@pytest.fixture(params=["text", "json"])
def captured(request: pytest.FixtureRequest, tmp_path) -> Iterator[io.StringIO]:
    """The process's own logging set-up, writing to a buffer."""
    sink = io.StringIO()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", log_format=request.param, log_level="INFO"
    )
    configure_logging(settings, "test", sink=sink)
    yield sink
    logger.remove()
    logging.basicConfig(handlers=[], force=True)


def test_a_field_named_like_a_credential_is_redacted(captured: io.StringIO) -> None:
    logger.bind(password=MARKER, session={"token": MARKER, "ok": "kept"}).info("x")
    out = captured.getvalue()
    assert MARKER not in out
    assert REDACTED in out and "kept" in out


def test_a_credential_quoted_in_a_message_is_redacted(captured: io.StringIO) -> None:
    logger.error(f"db said [parameters: {{'name': 'a', 'password': '{MARKER}'}}]")
    logger.warning(f"sent Authorization: Bearer {MARKER}")
    assert MARKER not in captured.getvalue()


def test_a_traceback_shows_no_variable_values(captured: io.StringIO) -> None:
    def login(secret: str) -> None:
        raise RuntimeError("refused")

    try:
        login(MARKER)
    except RuntimeError:
        logger.exception("login failed")
    out = captured.getvalue()
    assert "RuntimeError: refused" in (json.loads(out)["text"] if out.startswith("{") else out)
    assert MARKER not in out


def test_text_without_credentials_is_left_alone() -> None:
    assert redact_text("sweep 3 done: 20 messages, 4 tokens of time") == (
        "sweep 3 done: 20 messages, 4 tokens of time"
    )


def test_the_standard_librarys_loggers_write_through_the_same_format_and_redaction(
    tmp_path,
) -> None:
    sink = io.StringIO()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", log_format="json", log_level="INFO"
    )
    configure_logging(settings, "worker", sink=sink)
    try:
        logging.getLogger("a.library").info("send: workers.jobs.send_job(1, 2) (send-1-a1)")
        logging.getLogger("a.library").warning(f"password={MARKER}")
        logging.getLogger("noisy").debug("below the level")
    finally:
        logger.remove()
        logging.basicConfig(handlers=[], force=True)
    lines = [json.loads(line)["record"] for line in sink.getvalue().splitlines()]
    assert [(line["message"], line["extra"]["logger"]) for line in lines] == [
        ("send: workers.jobs.send_job(1, 2) (send-1-a1)", "a.library"),
        (f"password={REDACTED}", "a.library"),
    ]
    assert {line["extra"]["component"] for line in lines} == {"worker"}
