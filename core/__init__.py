"""Inbox Fleet's domain, a package per concept over shared infrastructure (see
`core/README.md` for what each owns and the order they import in).

Nothing in here speaks HTTP or drives a browser; `api/` and `workers/` sit on top.
"""
