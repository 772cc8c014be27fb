"""Chaos run: `python -m bench.chaos`. Hundreds of sends must arrive exactly once while the
fleet is shot at.

Every part runs as a child process, as in `fleet demo`: a private Redis, the sandbox, the
control plane (`fleet api`), the reconciler (`fleet reconcile`) and W browser workers
(`fleet worker --queues send,scrape`), each in its own process group. Sandbox accounts
are seeded with fans and inbound messages, registered over the API and swept once so
their conversations exist; then the sends are created over `POST /v1/sends`, each text
unique (a sequence number), and while they drain:

- every `--kill-every` seconds a random worker's whole process group is SIGKILLed and a
  replacement started;
- Redis is stopped and started again EMPTY on the same port once (at 30% delivered);
- the control plane is stopped and started again once (at 60% delivered);
- a worker that exits by itself (RQ quits on some Redis errors) is restarted like a
  killed one, and the event recorded.

Pass: the sandbox holds every send's text exactly once (0 lost, 0 duplicates, nothing
unexpected) and every send row ends `delivered`.

Three times are measured from each SIGKILL, over the sends the killed worker had in hand
(in flight under its worker id, or the job its last heartbeat reported); a kill of an idle
worker has none and is counted apart:

- `requeue_s`: until the send is seen back in the queue under a new attempt (the lease
  expired and the reconciler recovered it); the run polls once a second;
- `resume_s`: until the send's account delivers anything again;
- `recovery_s` (the headline): until the send itself is delivered. A recovered send goes
  to the front of its account's line, so this no longer waits behind the account's
  backlog.

Total time runs from the first send created to the last delivered, against the same load
run first without chaos (or `--baseline SECONDS` from an earlier run). Retries per send
are `attempt - 1` averaged over the sends; a recovery counts as an attempt.

Human-readable progress and figures first, then one JSON line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cluster import BenchFailed, Cluster, FleetApi, parse_time
from bench.script import add_run_dir_options, finish, run_as_script, run_dir
from cli.demo import Progress
from core.analytics.stats import percentile
from core.logging import configure_logging
from core.settings import get_settings
from sandbox.control_client import SandboxControl

PASSWORD = "chaos-password-123"
INBOUND = "hey, are you around today?"
# Realistic replies, emoji among them; the sequence number in front makes each text unique.
REPLIES: tuple[str, ...] = (
    "thank you so much babe, you made my day 💕",
    "haha I love that, tell me more",
    "good morning! did you sleep well? ☀️",
    "new set drops tonight, you'll be the first to know 🔥",
    "aww that's so sweet of you, thank you",
    "I'm doing great, just got back from the gym",
)
IN_FLIGHT = ("claimed", "typing", "submitted")
TERMINAL = ("delivered", "failed", "cancelled")
# Redis restarts once this share of sends is delivered, the control plane at the second.
REDIS_RESTART_AT = 0.3
API_RESTART_AT = 0.6
# How often the run reads every send row; it bounds the resolution of `requeue_s`.
POLL_S = 1.0


@dataclass(frozen=True)
class LoadPlan:
    """What one run does. `chaos` off: the same load with nothing shot at."""

    sends: int = 300
    accounts: int = 5
    workers: int = 3
    kill_every_s: float = 15.0
    time_scale: float = 0.02
    fans_per_account: int = 3
    max_kills: int | None = None
    chaos: bool = True
    timeout_s: float = 1800.0
    seed: int = 1


@dataclass
class Kill:
    """One SIGKILL, the sends the killed worker had in hand (their rows at the kill), and
    when each was seen back in the queue."""

    at: float
    in_hand: dict[int, dict[str, Any]]
    requeued_at: dict[int, float] = field(default_factory=dict)

    def watch(self, rows: dict[int, dict[str, Any]], now: float) -> None:
        """Note the sends that left the dead worker since the last look: a new attempt (the
        reconciler recovered it) or delivered."""
        for send_id, before in self.in_hand.items():
            row = rows.get(send_id)
            if send_id in self.requeued_at or row is None:
                continue
            if row["attempt"] > before["attempt"] or row["status"] == "delivered":
                self.requeued_at[send_id] = now


@dataclass
class LoadResult:
    """What one run saw."""

    total_s: float
    sends: dict[int, str]
    rows: dict[int, dict[str, Any]]
    kills: list[Kill]
    events: list[str]
    delivered_texts: Counter[str]
    platform_sent_at: dict[str, float]
    refusals: int
    flags: int
    redis_restarts: int
    api_restarts: int
    leftover_processes: int = 0


def seed(cluster: Cluster, plan: LoadPlan, progress: Progress) -> list[list[int]]:
    """Sandbox accounts with fans who wrote in, registered and swept once; each account's
    conversation ids."""
    progress(f"seeding {plan.accounts} accounts x {plan.fans_per_account} fans; sweeping")
    conversations = cluster.seed_accounts(
        "chaos", plan.accounts, plan.fans_per_account, password=PASSWORD, inbound=INBOUND
    )
    progress("every account swept; its conversations exist")
    return list(conversations.values())


def create_sends(api: FleetApi, conversations: list[list[int]], count: int) -> dict[int, str]:
    """Create `count` direct sends, spread round-robin over accounts and conversations;
    return their ids and (unique) texts."""
    sends = {}
    for number in range(count):
        account = conversations[number % len(conversations)]
        conversation = account[(number // len(conversations)) % len(account)]
        text = f"#{number + 1:04d} {REPLIES[number % len(REPLIES)]}"
        send = api.call("POST", "/v1/sends", json={"conversation_id": conversation, "text": text})
        sends[int(send["id"])] = text
    return sends


def _in_hand(api: FleetApi, pid: int, killed_at: float) -> dict[int, dict[str, Any]]:
    """Sends a just-killed worker held, with their rows: in flight under its worker id
    (host:pid:tail), or the job its last heartbeat reported (dequeued, perhaps not yet
    claimed) when not delivered before the kill."""
    held = {
        int(row["id"]): row
        for status in IN_FLIGHT
        for row in api.all_items("/v1/sends", status=status)
        if f":{pid}:" in (row["worker_id"] or "")
    }
    for beat in api.call("GET", "/v1/fleet")["workers"]:
        job = beat["current_job"] or ""
        if beat["pid"] == pid and job.startswith("send-"):
            send_id = int(job.split("-")[1])
            row = api.call("GET", f"/v1/sends/{send_id}")
            if row["delivered_at"] is None or parse_time(row["delivered_at"]) > killed_at:
                held.setdefault(send_id, row)
    return held


@dataclass
class _Chaos:
    """The chaos schedule of one run and what it did."""

    plan: LoadPlan
    rng: random.Random
    next_kill: float
    kills: list[Kill] = field(default_factory=list)
    redis_restarted: bool = False
    api_restarted: bool = False

    def act(
        self,
        cluster: Cluster,
        api: FleetApi,
        delivered: int,
        log: Callable[[str], None],
    ) -> None:
        """Do whatever is due now: a kill, the Redis restart, the API restart."""
        plan, now = self.plan, time.monotonic()
        kills_left = plan.max_kills is None or len(self.kills) < plan.max_kills
        if kills_left and now >= self.next_kill and cluster.workers:
            victim = self.rng.choice(cluster.workers)
            cluster.kill_worker(victim)
            killed_at = time.time()
            kill = Kill(killed_at, _in_hand(api, victim.process.pid, killed_at))
            self.kills.append(kill)
            replacement = cluster.start_worker()
            log(
                f"SIGKILL {victim.name} (pid {victim.process.pid}), sends in hand "
                f"{sorted(kill.in_hand) or 'none'}; started {replacement.name}"
            )
            self.next_kill = now + plan.kill_every_s
        if not self.redis_restarted and delivered >= REDIS_RESTART_AT * plan.sends:
            self.redis_restarted = True
            log(f"Redis restarted EMPTY on the same port ({cluster.restart_redis():.1f}s down)")
        if not self.api_restarted and delivered >= API_RESTART_AT * plan.sends:
            self.api_restarted = True
            log(f"control plane restarted ({cluster.restart_api():.1f}s until it answered)")


def run_load(plan: LoadPlan, var_dir: Path, progress: Progress) -> LoadResult:
    """Start a cluster, seed it, create the sends and drive them to the end (with chaos
    when `plan.chaos`); stop every process on the way out, Ctrl-C included."""
    cluster = Cluster(var_dir, plan.time_scale)
    events: list[str] = []

    def log(message: str) -> None:
        events.append(f"{progress.elapsed:.1f}s {message}")
        progress(message)

    try:
        cluster.start()
        for _ in range(plan.workers):
            cluster.start_worker()
        progress(
            f"sandbox {cluster.sandbox_url}, control plane {cluster.api_url}, reconciler, "
            f"{plan.workers} browser workers (time scale {plan.time_scale})"
        )
        conversations = seed(cluster, plan, progress)
        api = cluster.api()
        started, started_at = time.monotonic(), time.time()
        sends = create_sends(api, conversations, plan.sends)
        progress(f"created {len(sends)} sends over {plan.accounts} accounts")
        chaos = _Chaos(plan, random.Random(plan.seed), started + plan.kill_every_s)
        rows: dict[int, dict[str, Any]] = {}
        last_report, last_count = 0.0, -1
        deadline = started + plan.timeout_s
        while True:
            for child, code in cluster.exited_workers():
                replacement = cluster.start_worker()
                last = child.log_path.read_text(errors="replace").strip().splitlines()[-1:]
                log(
                    f"{child.name} exited by itself (code {code}: {' '.join(last)[:160]}); "
                    f"started {replacement.name}"
                )
            cluster.check_alive()
            rows = {
                int(row["id"]): row for row in api.all_items("/v1/sends") if int(row["id"]) in sends
            }
            by_status = Counter(row["status"] for row in rows.values())
            delivered = by_status["delivered"]
            finished = sum(by_status[status] for status in TERMINAL)
            for kill in chaos.kills:
                kill.watch(rows, time.time())
            if plan.chaos and finished < len(sends):
                chaos.act(cluster, api, delivered, log)
            now = time.monotonic()
            if delivered != last_count and now - last_report >= 2 or now - last_report >= 10:
                waiting = ", ".join(f"{s} {n}" for s, n in sorted(by_status.items()))
                progress(
                    f"{delivered}/{len(sends)} delivered ({waiting}); "
                    f"kills {len(chaos.kills)}, workers {len(cluster.workers)}"
                )
                last_report, last_count = now, delivered
            if finished == len(sends):
                break
            if now > deadline:
                log(
                    f"timed out after {plan.timeout_s:.0f}s with {len(sends) - finished} unfinished"
                )
                break
            time.sleep(POLL_S)
        last_delivery = max(
            (parse_time(row["delivered_at"]) for row in rows.values() if row["delivered_at"]),
            default=time.time(),
        )
        control = SandboxControl(cluster.sandbox_url)
        platform = control.delivered()
        result = LoadResult(
            total_s=last_delivery - started_at,
            sends=sends,
            rows=rows,
            kills=chaos.kills,
            events=events,
            delivered_texts=Counter(message.text for message in platform),
            platform_sent_at={message.text: parse_time(message.sent_at) for message in platform},
            refusals=len(control.refusals()),
            flags=len(control.flags()),
            redis_restarts=int(chaos.redis_restarted),
            api_restarts=int(chaos.api_restarted),
        )
        api.close()
    finally:
        leftovers = cluster.stop()
    result.leftover_processes = leftovers
    return result


def figures(result: LoadResult, plan: LoadPlan, baseline_s: float | None) -> dict[str, Any]:
    """The run's figures and verdict, as the JSON line reports them."""
    counts = result.delivered_texts
    lost = sorted(sid for sid, text in result.sends.items() if counts[text] == 0)
    duplicates = sum(max(0, counts[text] - 1) for text in result.sends.values())
    expected = set(result.sends.values())
    unexpected = sum(n for text, n in counts.items() if text not in expected)
    not_delivered = sorted(
        sid for sid in result.sends if result.rows.get(sid, {}).get("status") != "delivered"
    )
    requeues: list[float] = []
    resumes: list[float] = []
    recoveries: list[float] = []
    verified = retyped = 0
    for kill in result.kills:
        requeues.extend(at - kill.at for at in kill.requeued_at.values())
        accounts = {row["account_id"] for row in kill.in_hand.values()}
        resumed = [
            parse_time(row["delivered_at"])
            for row in result.rows.values()
            if row["account_id"] in accounts
            and row["delivered_at"]
            and parse_time(row["delivered_at"]) > kill.at
        ]
        if resumed:
            resumes.append(min(resumed) - kill.at)
        delivered_at = [
            parse_time(result.rows[sid]["delivered_at"])
            for sid in kill.in_hand
            if result.rows.get(sid, {}).get("delivered_at")
        ]
        if delivered_at:
            recoveries.append(max(delivered_at) - kill.at)
        for sid in kill.in_hand:
            on_platform = result.platform_sent_at.get(result.sends[sid])
            if on_platform is not None and on_platform <= kill.at:
                verified += 1  # it made it before the kill: the next claim must only verify
            else:
                retyped += 1
    attempts = [int(row["attempt"]) for row in result.rows.values()]
    retries = [attempt - 1 for attempt in attempts]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "bench": "chaos",
        "passed": not lost and not duplicates and not unexpected and not not_delivered,
        "sends": len(result.sends),
        "accounts": plan.accounts,
        "workers": plan.workers,
        "time_scale": plan.time_scale,
        "lost": len(lost),
        "duplicates": duplicates,
        "unexpected": unexpected,
        "not_delivered": len(not_delivered),
        "kills": len(result.kills),
        "redis_restarts": result.redis_restarts,
        "api_restarts": result.api_restarts,
        "kills_with_send_in_hand": len(recoveries),
        "interrupted_sends_verified": verified,
        "interrupted_sends_retyped": retyped,
        "requeue_s_p50": rounded(percentile(requeues, 0.5)),
        "requeue_s_p95": rounded(percentile(requeues, 0.95)),
        "resume_s_p50": rounded(percentile(resumes, 0.5)),
        "resume_s_p95": rounded(percentile(resumes, 0.95)),
        "recovery_s_p50": rounded(percentile(recoveries, 0.5)),
        "recovery_s_p95": rounded(percentile(recoveries, 0.95)),
        "recovery_s_max": rounded(max(recoveries, default=None)),
        "total_s": round(result.total_s, 1),
        "baseline_s": rounded(baseline_s),
        "slowdown": rounded(result.total_s / baseline_s) if baseline_s else None,
        "retries_per_send": round(statistics.fmean(retries), 3) if retries else None,
        "sends_retried": sum(1 for retry in retries if retry),
        "max_attempt": max(attempts, default=0),
        "refusals": result.refusals,
        "flags": result.flags,
        "worker_exits_unasked": sum("exited by itself" in event for event in result.events),
        "leftover_processes": result.leftover_processes,
    }


def _report(figure: dict[str, Any], result: LoadResult) -> None:
    print("\nchaos run figures", flush=True)
    print(
        f"  sends {figure['sends']} over {figure['accounts']} accounts, {figure['workers']} "
        f"workers, time scale {figure['time_scale']}"
    )
    print(
        f"  lost {figure['lost']}, duplicates {figure['duplicates']}, unexpected "
        f"{figure['unexpected']}, rows not delivered {figure['not_delivered']}"
    )
    print(
        f"  kills {figure['kills']} ({figure['kills_with_send_in_hand']} with a send in hand: "
        f"{figure['interrupted_sends_verified']} verified on the page, "
        f"{figure['interrupted_sends_retyped']} retyped)"
    )
    print(
        f"  after a kill, the send in hand is back in the queue in p50 "
        f"{figure['requeue_s_p50']}s / p95 {figure['requeue_s_p95']}s; its account delivers "
        f"again in p50 {figure['resume_s_p50']}s / p95 {figure['resume_s_p95']}s; the send "
        f"itself is delivered (recovery) in p50 {figure['recovery_s_p50']}s / p95 "
        f"{figure['recovery_s_p95']}s (max {figure['recovery_s_max']}s)"
    )
    baseline = f"{figure['baseline_s']}s" if figure["baseline_s"] else "not measured"
    print(f"  total {figure['total_s']}s against {baseline} without chaos (x{figure['slowdown']})")
    print(
        f"  retries per send {figure['retries_per_send']} ({figure['sends_retried']} sends "
        f"retried, max attempt {figure['max_attempt']})"
    )
    print(
        f"  sandbox refusals {figure['refusals']}, flags {figure['flags']}; workers that "
        f"exited unasked {figure['worker_exits_unasked']}; processes left behind "
        f"{figure['leftover_processes']}"
    )
    print("  events:")
    for event in result.events:
        print(f"    {event}")
    print(("PASS" if figure["passed"] else "FAIL") + ": chaos run", flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of `python -m bench.chaos`."""
    defaults = LoadPlan()
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--sends", type=int, default=defaults.sends)
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument(
        "--kill-every", type=float, default=defaults.kill_every_s, help="seconds between kills"
    )
    parser.add_argument("--max-kills", type=int, default=None, help="stop killing after this")
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument(
        "--baseline", type=float, default=None, help="seconds of an earlier no-chaos run"
    )
    baseline.add_argument(
        "--no-baseline", action="store_true", help="do not run the load without chaos first"
    )
    add_run_dir_options(parser)
    args = parser.parse_args(argv)
    if args.sends < 1 or args.accounts < 1 or args.workers < 1 or args.kill_every <= 0:
        parser.error("--sends, --accounts, --workers and --kill-every must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench (a no-chaos baseline first unless told otherwise); print progress and
    figures, then one JSON line; return the figures."""
    args = parse_args(argv)
    plan = LoadPlan(
        sends=args.sends,
        accounts=args.accounts,
        workers=args.workers,
        kill_every_s=args.kill_every,
        time_scale=args.time_scale,
        max_kills=args.max_kills,
        timeout_s=args.timeout,
        seed=args.seed,
    )
    settings = get_settings()
    # The bench speaks through its progress lines; each child logs to its own file.
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}), "bench")
    root = run_dir(args, settings.var_dir, "chaos")
    progress = Progress()
    baseline_s = args.baseline
    try:
        if baseline_s is None and not args.no_baseline:
            progress("baseline: the same load without chaos")
            calm = run_load(LoadPlan(**{**vars(plan), "chaos": False}), root / "baseline", progress)
            baseline_s = calm.total_s
            progress(f"baseline: {baseline_s:.1f}s for {len(calm.sends)} sends")
        progress("chaos run")
        result = run_load(plan, root / "chaos", progress)
        figure = figures(result, plan, baseline_s)
        _report(figure, result)
    except (BenchFailed, TimeoutError, RuntimeError) as exc:
        progress(f"FAILED: {exc}")
        figure = {"bench": "chaos", "passed": False, "error": str(exc)[:500]}
    return finish(figure, root, args.keep_var)


if __name__ == "__main__":
    run_as_script(main)
