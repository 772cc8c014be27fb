"""The CRM: creator accounts, fans, conversations and messages, what a sweep scrapes into
them (`ingest`, `sweeps`), a fan as the guardrails read them (`fans`), and a fan's data
rights (`erasure`)."""

from core.crm.accounts import (
    AccountChanges,
    account_access,
    account_problems,
    account_profile,
    account_secrets,
    create_account,
    get_account,
    list_accounts,
    pacing_budgets,
    reseal_credentials,
    store_session_state,
    update_account,
)
from core.crm.conversations import (
    get_conversation,
    list_conversations,
    list_messages,
    newest_message,
)
from core.crm.erasure import Erasure, erase_fan, export_fan
from core.crm.ingest import ingest_batch
from core.crm.schedule import SCHEDULER_ACTOR, due_accounts, queue_scheduled_sweeps
from core.crm.sweeps import (
    fail_sweep,
    finish_sweep,
    get_sweep,
    list_sweeps,
    start_sweep,
    trigger_sweeps,
)

__all__ = [
    "SCHEDULER_ACTOR",
    "AccountChanges",
    "Erasure",
    "account_access",
    "account_problems",
    "account_profile",
    "create_account",
    "due_accounts",
    "erase_fan",
    "export_fan",
    "fail_sweep",
    "finish_sweep",
    "get_account",
    "get_conversation",
    "account_secrets",
    "get_sweep",
    "ingest_batch",
    "list_accounts",
    "list_conversations",
    "list_messages",
    "list_sweeps",
    "newest_message",
    "pacing_budgets",
    "queue_scheduled_sweeps",
    "start_sweep",
    "reseal_credentials",
    "store_session_state",
    "trigger_sweeps",
    "update_account",
]
