"""Builders and small tools tests share: plain modules, imported by name. Fixtures live in
`tests/conftest.py` and `tests/fixtures/` (and a directory's own conftest), never here."""
