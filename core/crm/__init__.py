"""The CRM: creator accounts, fans, conversations and messages, what a sweep scrapes into
them (`ingest`, `sweeps`), a fan as the guardrails read them (`fans`), the fan list and
one fan's view (`fan_list`, `fan_detail`), what operators write on fans by hand or from a
CSV (`fan_edits`, `fan_import`), saved fan filters (`segments`), CSV exports (`exports`),
and a fan's data rights (`erasure`)."""

from core.crm.accounts import (
    AccountChanges,
    account_access,
    account_problems,
    account_profile,
    account_secrets,
    account_zone,
    create_account,
    get_account,
    held_accounts_of,
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
from core.crm.exports import export_fans, export_sends
from core.crm.fan_detail import FanDetail, fan_detail
from core.crm.fan_edits import FanChanges, FanLimitExceeded, update_fan
from core.crm.fan_import import ImportReport, TagsMode, import_fans
from core.crm.fan_list import FanFilter, FanSort, list_fans, select_fans
from core.crm.ingest import ingest_batch
from core.crm.schedule import SCHEDULER_ACTOR, due_accounts, queue_scheduled_sweeps
from core.crm.segments import (
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    segment_fans,
    segment_filter,
    segment_problems,
    update_segment,
)
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
    "FanChanges",
    "FanDetail",
    "FanFilter",
    "FanLimitExceeded",
    "FanSort",
    "ImportReport",
    "TagsMode",
    "account_access",
    "account_problems",
    "account_zone",
    "account_profile",
    "create_account",
    "create_segment",
    "delete_segment",
    "due_accounts",
    "erase_fan",
    "export_fan",
    "export_fans",
    "export_sends",
    "fan_detail",
    "import_fans",
    "list_fans",
    "segment_fans",
    "segment_filter",
    "segment_problems",
    "select_fans",
    "update_fan",
    "update_segment",
    "fail_sweep",
    "finish_sweep",
    "get_account",
    "held_accounts_of",
    "get_conversation",
    "get_segment",
    "account_secrets",
    "get_sweep",
    "ingest_batch",
    "list_accounts",
    "list_conversations",
    "list_messages",
    "list_segments",
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
