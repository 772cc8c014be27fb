"""Amounts of money, kept as integer cents everywhere and shown as dollars."""

from __future__ import annotations


def format_cents(cents: int) -> str:
    """`1250` as `$12.50`."""
    return f"${cents // 100:,}.{cents % 100:02d}"
