"""Pacing run: `python -m bench.pacing`. How close to its budgets does the fleet send?

Every part runs as a child process (`bench.cluster.Cluster`): a private Redis, the
sandbox, the control plane, the reconciler, one drafting worker and W browser workers.
M sandbox accounts are seeded with fans who wrote in; each account gets the bench's
budgets (`PATCH /v1/accounts/{id}` `pacing`) and the sandbox is told to refuse anything
closer than 90% of the send gap. One sweep per account reads the conversations (and warms
the workers' browser contexts); the drafting worker writes a draft for each fan.

Then, with the clock running, every account gets one mass message (`POST /v1/sends/bulk`)
to all its fans, and while those drain an operator approves one draft per account at a
random moment: a reply that must overtake the account's bulk load. N sends in all.

Figures:
- completion: from the mass messages' creation to the last send the sandbox received,
  against a lower bound computed from the budgets and the typing plans alone. Each
  account's sends form one chain (one driver per account): a send needs its human time
  (the plan's expected duration, its thinking pause taken for an empty fan message, plus
  the least dwell before each of its two UI actions), at least one send gap after the
  previous send, and room in the sends-per-hour window. A reply cannot start before its
  approval. The fleet cannot beat the slowest chain, nor the sum of all human time spread
  over W workers; the bound is the larger of the two and the figures say which binds;
- utilisation: per account, the least possible span of its sends (n-1 gaps) over the
  span it took; and the busiest (scaled) hour against the hourly budget;
- the sandbox's refusals (too fast) and flags (typed like a machine);
- reply latency: from the approval to the sandbox receiving the reply, in seconds and in
  send gaps, and how many of the account's bulk sends went out in between (at most the
  one already being typed).

Pass: every send delivered, completion within `--max-ratio` (1.10) of the lower bound,
0 refusals, 0 flags, and no reply overtaken by more than one bulk send.

Human-readable progress and figures first, then one JSON line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster import BenchFailed, Cluster, parse_time
from bench.script import add_run_dir_options, finish, run_as_script, run_dir
from cli.demo import Progress
from core.analytics.stats import percentile
from core.logging import configure_logging
from core.platform.profiles import TypingProfile, named_profile
from core.platform.typing_plan import plan_typing, seed_for
from core.settings import get_settings
from sandbox.control_client import SandboxControl

PASSWORD = "pacing-password-123"
INBOUND = "hey, are you around today?"
CAMPAIGN = "new set drops tonight, you'll be the first to know 🔥"
# The sandbox refuses sends closer than this share of the bench's gap: a careful
# platform, a little more lenient than the budget the operator chose.
SANDBOX_GAP_SHARE = 0.9
# UI actions before each send that carry a human dwell: opening the thread, clicking
# into the composer. The click on "send" waits for the send budget instead.
DWELLS_PER_SEND = 2
_HOUR_S = 3600.0
POLL_S = 0.5


@dataclass(frozen=True)
class PacingPlan:
    """One run's load and budgets; budgets in human seconds, scaled by `time_scale`."""

    sends: int = 200
    accounts: int = 10
    workers: int = 10
    replies_per_account: int = 1
    min_send_gap_s: float = 30.0
    sends_per_hour: int = 60
    time_scale: float = 0.2
    max_ratio: float = 1.10
    timeout_s: float = 900.0
    seed: int = 1

    @property
    def per_account(self) -> int:
        """Sends each account makes (bulk and replies)."""
        return self.sends // self.accounts

    @property
    def fans_per_account(self) -> int:
        """Each fan gets one bulk send; replies go to fans who also get the mass message."""
        return self.per_account - self.replies_per_account

    @property
    def gap_s(self) -> float:
        """The send gap in real seconds."""
        return self.min_send_gap_s * self.time_scale


@dataclass(frozen=True)
class SendDone:
    """One send as the run saw it: times are Unix seconds; `released` is when it could
    first go (the mass message's creation, or the reply's approval)."""

    send_id: int
    account_id: int
    priority: str
    text: str
    released: float
    sent_at: float | None


@dataclass
class PacingResult:
    """What one run saw."""

    started_at: float
    sends: list[SendDone]
    refusals: int
    flags: int
    leftover_processes: int = 0
    events: list[str] = field(default_factory=list)


def human_time_s(send_id: int, text: str, typing: TypingProfile, time_scale: float) -> float:
    """The least real time a worker spends on a send before clicking "send": the plan a
    worker would type for the send's first attempt (thinking pause for an empty fan
    message, the smallest it gets), and the least dwell before each UI action."""
    plan = plan_typing(text, typing, seed_for("send", send_id, 1))
    return (plan.expected_duration_s + DWELLS_PER_SEND * typing.dwell_min_s) * time_scale


def chain_bound_s(
    releases: Sequence[float],
    human_s: Sequence[float],
    gap_s: float,
    per_hour: int,
    hour_s: float,
) -> float:
    """The earliest one driver can have sent every send of one account, from the run's
    start: sends in release order, each after its release plus its human time, after the
    previous one plus the larger of the gap and its human time, and never more than
    `per_hour` in any `hour_s` window."""
    times: list[float] = []
    for release, human in sorted(zip(releases, human_s, strict=True)):
        at = release + human
        if times:
            at = max(at, times[-1] + max(gap_s, human))
        if len(times) >= per_hour:
            at = max(at, times[-per_hour] + hour_s)
        times.append(at)
    return times[-1] if times else 0.0


def _seed(cluster: Cluster, plan: PacingPlan, progress: Progress) -> dict[int, list[int]]:
    """Sandbox accounts with fans who wrote in, registered with the bench's budgets and
    swept once; each account's conversation ids."""
    SandboxControl(cluster.sandbox_url).update_guards(
        min_send_gap_s=plan.min_send_gap_s * SANDBOX_GAP_SHARE
    )
    progress(f"seeding {plan.accounts} accounts x {plan.fans_per_account} fans; sweeping")
    deadline = time.monotonic() + 300
    conversations = cluster.seed_accounts(
        "pacing",
        plan.accounts,
        plan.fans_per_account,
        password=PASSWORD,
        inbound=INBOUND,
        pacing={"min_send_gap_s": plan.min_send_gap_s, "sends_per_hour": plan.sends_per_hour},
        timeout_s=300,
    )
    admin = cluster.api()
    try:
        wanted = plan.accounts * plan.fans_per_account
        while len(admin.all_items("/v1/drafts")) < wanted:
            if time.monotonic() > deadline:
                raise BenchFailed("the drafting worker did not draft every inbound message")
            cluster.check_alive()
            time.sleep(0.3)
    finally:
        admin.close()
    progress("every account swept and every fan's message drafted")
    return conversations


def _reply_times(plan: PacingPlan, rng: random.Random, start: float) -> list[tuple[float, int]]:
    """When each account's replies are approved: spread over the first 60% of the run the
    budgets allow, so each lands in the middle of its account's bulk load."""
    span = (plan.per_account - 1) * plan.gap_s
    return sorted(
        (start + rng.uniform(0.1, 0.6) * span, index)
        for index in range(plan.accounts)
        for _ in range(plan.replies_per_account)
    )


def run_pacing(plan: PacingPlan, var_dir: Path, progress: Progress) -> PacingResult:
    """Start a cluster, seed it, send the load and wait for every send to finish; stop
    every process on the way out, Ctrl-C included."""
    cluster = Cluster(var_dir, plan.time_scale)
    rng = random.Random(plan.seed)
    events: list[str] = []
    try:
        cluster.start()
        cluster.start_worker("ai")
        for _ in range(plan.workers):
            cluster.start_worker()
        progress(
            f"sandbox {cluster.sandbox_url}, control plane {cluster.api_url}, reconciler, "
            f"a drafting worker, {plan.workers} browser workers (time scale {plan.time_scale})"
        )
        conversations = _seed(cluster, plan, progress)
        accounts = list(conversations)
        api = cluster.api()
        started_at = time.time()
        released: dict[int, float] = {}
        for ids in conversations.values():
            for send in api.call(
                "POST", "/v1/sends/bulk", json={"conversation_ids": ids, "text": CAMPAIGN}
            )["sends"]:
                released[int(send["id"])] = started_at
        progress(f"{len(released)} bulk sends created over {plan.accounts} accounts")
        replies = _reply_times(plan, rng, started_at)
        deadline = time.monotonic() + plan.timeout_s
        last_report = 0.0
        while True:
            cluster.check_alive()
            now = time.time()
            while replies and replies[0][0] <= now:
                _at, index = replies.pop(0)
                account_id = accounts[index]
                pending = api.all_items("/v1/drafts", account_id=account_id)
                if not pending:
                    raise BenchFailed(f"account {account_id} has no draft left to approve")
                approval = api.call("POST", f"/v1/drafts/{pending[0]['id']}/approve", json={})
                released[int(approval["send"]["id"])] = time.time()
                events.append(f"{time.time() - started_at:.1f}s reply approved, {account_id}")
            rows = [row for row in api.all_items("/v1/sends") if int(row["id"]) in released]
            finished = [row for row in rows if row["status"] in ("delivered", "failed")]
            if time.monotonic() - last_report >= 5:
                progress(f"{len(finished)}/{plan.sends} sends finished")
                last_report = time.monotonic()
            if not replies and len(finished) == len(released) == plan.sends:
                break
            if time.monotonic() > deadline:
                raise BenchFailed(f"timed out with {len(released) - len(finished)} unfinished")
            time.sleep(POLL_S)
        control = SandboxControl(cluster.sandbox_url)
        sent_at = {m.message_id: parse_time(m.sent_at) for m in control.delivered()}
        sends = [
            SendDone(
                send_id=int(row["id"]),
                account_id=int(row["account_id"]),
                priority=row["priority"],
                text=row["text"],
                released=released[int(row["id"])],
                sent_at=sent_at.get(row["platform_message_id"] or ""),
            )
            for row in rows
        ]
        result = PacingResult(
            started_at=started_at,
            sends=sends,
            refusals=len(control.refusals()),
            flags=len(control.flags()),
            events=events,
        )
        api.close()
    finally:
        leftovers = cluster.stop()
    result.leftover_processes = leftovers
    return result


def figures(result: PacingResult, plan: PacingPlan, typing: TypingProfile) -> dict[str, Any]:
    """The run's figures and verdict, as the JSON line reports them."""
    start = result.started_at
    by_account: dict[int, list[SendDone]] = defaultdict(list)
    for send in result.sends:
        by_account[send.account_id].append(send)
    human = {
        s.send_id: human_time_s(s.send_id, s.text, typing, plan.time_scale) for s in result.sends
    }
    hour_s = _HOUR_S * plan.time_scale
    chains = {
        account_id: chain_bound_s(
            [s.released - start for s in sends],
            [human[s.send_id] for s in sends],
            plan.gap_s,
            plan.sends_per_hour,
            hour_s,
        )
        for account_id, sends in by_account.items()
    }
    workers_bound = sum(human.values()) / plan.workers
    chain_bound = max(chains.values())
    lower_bound = max(chain_bound, workers_bound)
    delivered = [s for s in result.sends if s.sent_at is not None]
    total = max(s.sent_at for s in delivered) - start if delivered else None
    ratio = total / lower_bound if total else None

    spans, busiest = [], 0
    for sends in by_account.values():
        times = sorted(s.sent_at for s in sends if s.sent_at is not None)
        if len(times) > 1:
            spans.append((len(times) - 1) * plan.gap_s / (times[-1] - times[0]))
        busiest = max(
            busiest,
            max(
                (sum(1 for t in times if at <= t < at + hour_s) for at in times),
                default=0,
            ),
        )
    latencies, gaps, overtaken = [], [], []
    for s in result.sends:
        if s.priority != "reply" or s.sent_at is None:
            continue
        latencies.append(s.sent_at - s.released)
        gaps.append((s.sent_at - s.released) / plan.gap_s)
        overtaken.append(
            sum(
                1
                for other in by_account[s.account_id]
                if other.priority == "bulk"
                and other.sent_at is not None
                and s.released < other.sent_at < s.sent_at
            )
        )

    def rounded(value: float | None, digits: int = 2) -> float | None:
        return None if value is None else round(value, digits)

    passed = (
        len(delivered) == plan.sends
        and ratio is not None
        and ratio <= plan.max_ratio
        and result.refusals == 0
        and result.flags == 0
        and all(count <= 1 for count in overtaken)
        and result.leftover_processes == 0
    )
    return {
        "bench": "pacing",
        "sends": plan.sends,
        "accounts": plan.accounts,
        "workers": plan.workers,
        "replies": len(latencies),
        "time_scale": plan.time_scale,
        "min_send_gap_s": plan.min_send_gap_s,
        "sends_per_hour": plan.sends_per_hour,
        "delivered": len(delivered),
        "total_s": rounded(total),
        "lower_bound_s": rounded(lower_bound),
        "ratio": rounded(ratio, 3),
        "bound_by": "account budgets" if chain_bound >= workers_bound else "workers",
        "chain_bound_s": rounded(chain_bound),
        "workers_bound_s": rounded(workers_bound),
        "gap_utilisation_mean": rounded(statistics.fmean(spans) if spans else None, 3),
        "gap_utilisation_min": rounded(min(spans) if spans else None, 3),
        "busiest_hour_sends": busiest,
        "hourly_budget_used": rounded(busiest / plan.sends_per_hour, 3),
        "refusals": result.refusals,
        "flags": result.flags,
        "reply_latency_s_p50": rounded(percentile(latencies, 0.5)),
        "reply_latency_s_max": rounded(max(latencies, default=None)),
        "reply_latency_gaps_max": rounded(max(gaps, default=None)),
        "bulk_sends_before_a_reply_max": max(overtaken, default=0),
        "leftover_processes": result.leftover_processes,
        "passed": passed,
    }


def _report(figure: dict[str, Any], result: PacingResult) -> None:
    print(
        f"pacing: {figure['delivered']}/{figure['sends']} sends over {figure['accounts']} "
        f"accounts by {figure['workers']} workers (gap {figure['min_send_gap_s']}s, "
        f"{figure['sends_per_hour']}/hour, time scale {figure['time_scale']})"
    )
    print(
        f"  completion {figure['total_s']}s against a lower bound of {figure['lower_bound_s']}s "
        f"(x{figure['ratio']}; bound by {figure['bound_by']}: chains "
        f"{figure['chain_bound_s']}s, workers {figure['workers_bound_s']}s)"
    )
    print(
        f"  send gap utilisation mean {figure['gap_utilisation_mean']}, min "
        f"{figure['gap_utilisation_min']}; busiest hour {figure['busiest_hour_sends']} sends "
        f"({figure['hourly_budget_used']} of the hourly budget)"
    )
    print(
        f"  replies approved during the bulk load: {figure['replies']}, sent in p50 "
        f"{figure['reply_latency_s_p50']}s, max {figure['reply_latency_s_max']}s "
        f"({figure['reply_latency_gaps_max']} gaps); at most "
        f"{figure['bulk_sends_before_a_reply_max']} bulk send went out before a reply"
    )
    print(
        f"  sandbox refusals {figure['refusals']}, flags {figure['flags']}; processes left "
        f"behind {figure['leftover_processes']}"
    )
    for event in result.events:
        print(f"    {event}")
    print(("PASS" if figure["passed"] else "FAIL") + ": pacing run", flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of `python -m bench.pacing`."""
    defaults = PacingPlan()
    parser = argparse.ArgumentParser(prog="python -m bench.pacing", description=__doc__)
    parser.add_argument("--sends", type=int, default=defaults.sends)
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--replies-per-account", type=int, default=defaults.replies_per_account)
    parser.add_argument(
        "--gap", type=float, default=defaults.min_send_gap_s, help="send gap, human seconds"
    )
    parser.add_argument("--sends-per-hour", type=int, default=defaults.sends_per_hour)
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--max-ratio", type=float, default=defaults.max_ratio)
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    add_run_dir_options(parser)
    args = parser.parse_args(argv)
    if min(args.sends, args.accounts, args.workers, args.sends_per_hour) < 1 or args.gap <= 0:
        parser.error("--sends, --accounts, --workers, --sends-per-hour and --gap must be positive")
    if args.sends % args.accounts:
        parser.error("--sends must be a multiple of --accounts")
    if not 0 <= args.replies_per_account < args.sends // args.accounts:
        parser.error("--replies-per-account must leave each account at least one bulk send")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench; print progress and figures, then one JSON line; return the figures."""
    args = parse_args(argv)
    plan = PacingPlan(
        sends=args.sends,
        accounts=args.accounts,
        workers=args.workers,
        replies_per_account=args.replies_per_account,
        min_send_gap_s=args.gap,
        sends_per_hour=args.sends_per_hour,
        time_scale=args.time_scale,
        max_ratio=args.max_ratio,
        timeout_s=args.timeout,
        seed=args.seed,
    )
    settings = get_settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}), "bench")
    typing = named_profile(settings.profiles_dir, "sandbox").typing
    root = run_dir(args, settings.var_dir, "pacing")
    progress = Progress()
    try:
        result = run_pacing(plan, root, progress)
        figure = figures(result, plan, typing)
        _report(figure, result)
    except (BenchFailed, TimeoutError, RuntimeError) as exc:
        progress(f"FAILED: {exc}")
        figure = {"bench": "pacing", "passed": False, "error": str(exc)[:500]}
    return finish(figure, root, args.keep_var)


if __name__ == "__main__":
    run_as_script(main)
