"""Sweep: `python -m bench.sweep [--platform NAME] [--threads N]`. How long one worker takes
to read an account, where the time goes, and whether it missed anything.

For each bundled platform (`sandbox`, `velvet`), the parts run as child processes
(`bench.cluster.Cluster`: a private Redis, that platform's sandbox, the control plane, the
reconciler) with ONE browser worker on the scrape queue. The sandbox account has
`--threads` conversations (200) of `--messages` inbound messages each (10: plain, with
emoji, two lines, some tips), and the run sweeps it three times:

- cold: nothing is known, every thread is read;
- 10 % changed: a fan of one thread in ten writes again, then a sweep;
- 100 % changed: every fan writes again, then a sweep.

Figures per sweep, from the worker's own `sweep done` log line (`workers.timings`):
wall time inside the worker, threads opened, and where the time went (pacer waits and
human dwell, page loads, reads, ingest calls, the rest). After each sweep, every message
the control plane holds is checked against the platform's own record
(`GET /_control/accounts/{name}/messages`): missing, extra and wrong (text, direction,
tip or price) messages.

Targets, as ratios within one run: a cold sweep takes at most 1.5 x (threads x the median
thread-page load) plus the pacer's own waits; a sweep with 10 % changed takes at most
0.15 x the cold one and opens no unchanged thread; nothing missing, extra or wrong.

Progress lines while running; ONE JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.cluster import BenchFailed, Cluster, FleetApi
from bench.script import add_run_dir_options, finish, run_as_script, run_dir
from cli.demo import PLATFORMS, Progress
from core.logging import configure_logging
from core.settings import get_settings
from sandbox.control_client import SandboxControl

PASSWORD = "sweep-password-123"
USERNAME = "sweeper"
# What fans write: plain, emoji, two lines (the line break must survive the read).
TEXTS = (
    "hey, how are you? {i}",
    "loved the new set 😍🔥 #{i}",
    "first line {i}\nsecond line",
    "family day 👨‍👩‍👧‍👦 {i}",
)
# One message in this many is a tip, so money printed as text is read too.
TIP_EVERY = 7
COLD_FACTOR = 1.5
INCREMENTAL_SHARE = 0.15
SWEEP_TIMEOUT_S = 600.0


def _seed(control: SandboxControl, threads: int, messages: int) -> tuple[str, list[Any]]:
    login = control.create_account(USERNAME, PASSWORD, "Sweep Creator").login
    base = datetime.now(UTC) - timedelta(days=2)
    fans = []
    for thread in range(threads):
        fan = control.create_fan(USERNAME, f"Fan {thread:03d}")
        fans.append(fan)
        for index in range(messages):
            at = base + timedelta(minutes=thread, seconds=index)
            number = thread * messages + index
            if number % TIP_EVERY == TIP_EVERY - 1:
                control.tip(USERNAME, fan, 100 + number * 13, f"tip {number}", sent_at=at)
            else:
                control.inbound(USERNAME, fan, TEXTS[number % len(TEXTS)].format(i=number), at)
    return login, fans


def _sweep_line(log: Path, sweep_id: int) -> dict[str, Any]:
    for line in reversed(log.read_text(errors="replace").splitlines()):
        try:
            record = json.loads(line)["record"]
        except (ValueError, KeyError, TypeError):
            continue
        extra = record.get("extra", {})
        if record.get("message") == "sweep done" and extra.get("sweep_id") == sweep_id:
            return dict(extra)
    raise BenchFailed(f"the worker logged no `sweep done` for sweep {sweep_id}")


def _run_sweep(cluster: Cluster, api: FleetApi, account_id: int, log: Path) -> dict[str, Any]:
    [queued] = api.call("POST", "/v1/sweeps", json={"account_id": account_id})
    deadline = time.monotonic() + SWEEP_TIMEOUT_S
    while (sweep := api.call("GET", f"/v1/sweeps/{queued['id']}"))["status"] != "done":
        if sweep["status"] == "failed" or time.monotonic() > deadline:
            raise BenchFailed(f"sweep {queued['id']} did not finish: {sweep}")
        cluster.check_alive()
        time.sleep(0.1)
    # The worker logs its line just after it reports; give the log a moment to land.
    while True:
        try:
            line = _sweep_line(log, int(queued["id"]))
            break
        except BenchFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    timings = line["timings"]

    def spent(kind: str) -> float:
        return float(timings.get(kind, {}).get("s", 0.0))

    wall = spent("sweep")
    parts = {kind: round(spent(kind), 3) for kind in ("pacer", "page_load", "read", "ingest")}
    parts["other"] = round(max(0.0, wall - sum(parts.values())), 3)
    return {
        "wall_s": round(wall, 3),
        "threads_listed": int(line["listed"]),
        "threads_opened": int(line["conversations"]),
        "messages_read": int(line["messages"]),
        "thread_load_p50_s": float(timings.get("thread_load", {}).get("p50", 0.0)),
        "time_s": parts,
    }


def _check(control: SandboxControl, api: FleetApi, account_id: int) -> dict[str, int]:
    """Messages stored by the control plane against the platform's own record."""
    platform = {m.message_id: m for m in control.messages(USERNAME)}
    stored: dict[str, dict[str, Any]] = {}
    for conversation in api.all_items("/v1/conversations", account_id=account_id):
        for message in api.all_items(f"/v1/conversations/{conversation['id']}/messages"):
            stored[message["platform_message_id"]] = message
    wrong = 0
    for message_id, kept in stored.items():
        truth = platform.get(message_id)
        if truth is None:
            continue
        if (
            kept["text"] != truth.text
            or kept["direction"] != ("inbound" if truth.direction == "in" else "outbound")
            or kept["tip_cents"] != truth.tip_cents
            or kept["ppv_price_cents"] != truth.ppv_price_cents
        ):
            wrong += 1
    return {
        "platform_messages": len(platform),
        "stored": len(stored),
        "missing": len(platform.keys() - stored.keys()),
        "extra": len(stored.keys() - platform.keys()),
        "wrong": wrong,
    }


def run_platform(
    platform: str, threads: int, messages: int, time_scale: float, root: Path, progress: Progress
) -> dict[str, Any]:
    """Seed, sweep cold, then with 10 % and 100 % changed, on one bundled platform."""
    cluster = Cluster(
        root / platform,
        time_scale,
        extra_env={"FLEET_SANDBOX_SKIN": PLATFORMS[platform], "FLEET_LOG_FORMAT": "json"},
    )
    try:
        cluster.start()
        worker = cluster.start_worker("scrape")
        control = SandboxControl(cluster.sandbox_url)
        login, fans = _seed(control, threads, messages)
        progress(f"{platform}: seeded {threads} threads of {messages} messages")
        api = cluster.api()
        account = api.call(
            "POST",
            "/v1/accounts",
            json={
                "name": "Sweep Creator",
                "profile": platform,
                "base_url": cluster.sandbox_url,
                "username": login,
                "password": PASSWORD,
            },
        )
        account_id = int(account["id"])
        figure: dict[str, Any] = {"platform": platform, "threads": threads}
        cold = _run_sweep(cluster, api, account_id, worker.log_path)
        cold["check"] = _check(control, api, account_id)
        figure["cold"] = cold
        progress(f"{platform}: cold sweep {cold['wall_s']} s, {cold['check']}")
        rng = random.Random(7)
        for share, label in ((0.1, "changed_10"), (1.0, "changed_100")):
            changed = rng.sample(fans, max(1, round(len(fans) * share)))
            for fan in changed:
                control.inbound(USERNAME, fan, f"new message for the {label} sweep")
            run = _run_sweep(cluster, api, account_id, worker.log_path)
            run["changed"] = len(changed)
            run["check"] = _check(control, api, account_id)
            figure[label] = run
            progress(f"{platform}: {label} sweep {run['wall_s']} s, {run['check']}")
        api.close()
        return figure
    finally:
        cluster.stop()


def judge(figure: dict[str, Any]) -> dict[str, Any]:
    """The targets of one platform's run, each with its bound and whether it was met."""
    cold, ten = figure["cold"], figure["changed_10"]
    bound = COLD_FACTOR * figure["threads"] * cold["thread_load_p50_s"] + cold["time_s"]["pacer"]
    exact = all(
        figure[run]["check"][kind] == 0
        for run in ("cold", "changed_10", "changed_100")
        for kind in ("missing", "extra", "wrong")
    )
    return {
        "cold_bound_s": round(bound, 3),
        "cold_within_bound": cold["wall_s"] <= bound,
        "incremental_share_of_cold": round(ten["wall_s"] / cold["wall_s"], 3),
        "incremental_within_share": ten["wall_s"] <= INCREMENTAL_SHARE * cold["wall_s"],
        "incremental_opened_only_changed": ten["threads_opened"] == ten["changed"],
        "nothing_missing_or_wrong": exact,
    }


def _report(figure: dict[str, Any]) -> None:
    for run in ("cold", "changed_10", "changed_100"):
        data = figure[run]
        times = ", ".join(f"{kind} {seconds}s" for kind, seconds in data["time_s"].items())
        check = data["check"]
        print(
            f"  {figure['platform']} {run}: {data['wall_s']} s, {data['threads_opened']} of "
            f"{data['threads_listed']} threads opened, {data['messages_read']} messages read; "
            f"thread page p50 {data['thread_load_p50_s'] * 1000:.1f} ms; {times}; "
            f"missing {check['missing']}, extra {check['extra']}, wrong {check['wrong']} "
            f"of {check['platform_messages']}",
            flush=True,
        )
    targets = figure["targets"]
    print(
        f"  {figure['platform']} targets: cold {figure['cold']['wall_s']} s <= "
        f"{targets['cold_bound_s']} s: {targets['cold_within_bound']}; 10 % changed at "
        f"{targets['incremental_share_of_cold']} of cold <= {INCREMENTAL_SHARE}: "
        f"{targets['incremental_within_share']}; opened only changed threads: "
        f"{targets['incremental_opened_only_changed']}; nothing missing or wrong: "
        f"{targets['nothing_missing_or_wrong']}",
        flush=True,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of `python -m bench.sweep`."""
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument("--platform", choices=[*PLATFORMS, "all"], default="all")
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=0.01)
    add_run_dir_options(parser)
    args = parser.parse_args(argv)
    if args.threads < 10 or args.messages < 1:
        parser.error("--threads must be at least 10 and --messages at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the bench; print progress and figures, then one JSON line; return the figures."""
    args = parse_args(argv)
    settings = get_settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}), "bench")
    root = run_dir(args, settings.var_dir, "sweep")
    progress = Progress()
    platforms = list(PLATFORMS) if args.platform == "all" else [args.platform]
    figure: dict[str, Any] = {"bench": "sweep", "time_scale": args.time_scale}
    try:
        passed = True
        for platform in platforms:
            result = run_platform(
                platform, args.threads, args.messages, args.time_scale, root, progress
            )
            result["targets"] = judge(result)
            _report(result)
            passed = passed and all(
                value for key, value in result["targets"].items() if isinstance(value, bool)
            )
            figure[platform] = result
    except (BenchFailed, TimeoutError, RuntimeError) as exc:
        progress(f"FAILED: {exc}")
        figure, passed = {"bench": "sweep", "error": str(exc)[:500]}, False
    figure["passed"] = passed
    return finish(figure, root, args.keep_var)


if __name__ == "__main__":
    run_as_script(main)
