"""Loguru set-up shared by every process, and the rules for what a log may hold.

Message text shows only as its length (`content`). Credentials never show: a field whose
name says it holds one (password, token, secret, cookie, session state...) is redacted
from every record, so is such a value quoted in a message, and tracebacks are logged
without the values of their variables.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

from core.settings import Settings

if TYPE_CHECKING:
    from loguru import Record

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(
    r"pass(word|wd)?|secret|token|authorization|api_?key|cookie|storage_state|credential",
    re.IGNORECASE,
)
# `'password': 'x'`, `password=x`, `"token": "x"` inside a message or an error's text.
_SECRET_IN_TEXT = re.compile(
    r"""(?P<key>['"]?(?:pass(?:word|wd)?|secret|token|authorization|api_?key)['"]?\s*[:=]\s*)"""
    r"""(?P<value>(?:bearer\s+)?(?:'[^']*'|"[^"]*"|[^\s,;}\]]+))""",
    re.IGNORECASE,
)


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_NAME.search(str(key)) else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """`text` with any credential-shaped `key: value` pair's value replaced."""
    return _SECRET_IN_TEXT.sub(lambda found: found.group("key") + REDACTED, text)


def _redact(record: Record) -> None:
    record["extra"].update(_redacted(dict(record["extra"])))
    record["message"] = redact_text(record["message"])


_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[component]}</cyan> {message} <dim>{extra}</dim>"
)


class _ToLoguru(logging.Handler):
    """Hands the standard library's records (RQ's, uvicorn's, SQLAlchemy's) to loguru, so
    that every line of a process has one format and passes the same redaction."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.bind(logger=record.name).opt(exception=record.exc_info).log(
            level, record.getMessage()
        )


def configure_logging(settings: Settings, component: str, sink: TextIO = sys.stderr) -> None:
    """Send every log line of this process to `sink` (stderr) with structured fields, as
    JSON lines when `log_format` is json; `component` names the process kind. The standard
    library's loggers (RQ, uvicorn) write through loguru too."""
    logger.remove()
    logger.configure(extra={"component": component}, patcher=_redact)
    # diagnose off: a traceback must not print the values of its variables (a password).
    if settings.log_format == "json":
        logger.add(sink, level=settings.log_level, serialize=True, diagnose=False)
    else:
        logger.add(sink, level=settings.log_level, format=_FORMAT, colorize=None, diagnose=False)
    # A handler on the root logger also stops RQ from adding its own to `rq.worker`.
    logging.basicConfig(handlers=[_ToLoguru()], level=settings.log_level, force=True)
    # One line per request comes from the API's own middleware.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def content(text: str | None, settings: Settings) -> str:
    """What a log may show of message text: the text only with explicit debug-content
    logging, otherwise just its length."""
    if text is None:
        return "<none>"
    if settings.log_debug_content:
        return text
    return f"<{len(text)} chars>"
