"""Loguru set-up shared by every process, and the one rule for message text in logs."""

from __future__ import annotations

import sys

from loguru import logger

from core.settings import Settings

_FORMAT = (
    "<green>{time:HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[component]}</cyan> {message} <dim>{extra}</dim>"
)


def configure_logging(settings: Settings, component: str) -> None:
    """Send logs to stderr with structured fields, as JSON lines when the settings ask
    (`log_json`); `component` names the process kind."""
    logger.remove()
    logger.configure(extra={"component": component})
    if settings.log_json:
        logger.add(sys.stderr, level=settings.log_level, serialize=True)
    else:
        logger.add(sys.stderr, level=settings.log_level, format=_FORMAT, colorize=None)


def content(text: str | None, settings: Settings) -> str:
    """What a log may show of message text: the text only with explicit debug-content
    logging, otherwise just its length."""
    if text is None:
        return "<none>"
    if settings.log_debug_content:
        return text
    return f"<{len(text)} chars>"
