"""Inbox Fleet domain: settings, models, queues, pacing, typing plans, drafting.

Nothing in here speaks HTTP or drives a browser; `api/` and `workers/` sit on top.
"""
