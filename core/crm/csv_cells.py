"""CSV cells as the CRM writes and reads them: the columns' shared spelling, and the guard
against spreadsheet formulas.

A fan's name comes from the platform, written by the fan: a name such as
`=HYPERLINK("http://…")` would run as a formula in the spreadsheet an agency opens an
export in. Every text cell that starts like a formula (`=`, `+`, `-`, `@`, a tab or a
carriage return) is written with a leading `'`, which spreadsheets show as text, and an
import reads it back without it (OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

CUSTOM_PREFIX = "custom."
TAG_SEPARATOR = ";"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_GUARD = "'"


def guard(text: str) -> str:
    """`text` as a cell no spreadsheet runs as a formula."""
    return _GUARD + text if text.startswith(_FORMULA_STARTS) else text


def unguard(text: str) -> str:
    """A cell's text without the guard `guard` put on it."""
    if text.startswith(_GUARD) and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


def csv_chunks(
    header: Sequence[str], batches: Iterable[Iterable[Sequence[object]]]
) -> Iterator[str]:
    """The CSV text of `header` then each batch of rows, a chunk per batch, so a stream
    holds one batch at a time (None is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for batch in batches:
        writer.writerows(["" if cell is None else cell for cell in row] for row in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
