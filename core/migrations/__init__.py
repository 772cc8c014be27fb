"""Alembic migrations of the control plane's database, one file per revision in
`versions/`. `core.schema` runs them; nothing else should."""
