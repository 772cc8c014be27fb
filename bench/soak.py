"""Soak: `python -m bench.soak [--jobs N]`. Thousands of jobs on ONE browser worker: does it
leak, does it recycle, does anything of it outlive it?

The parts run as child processes (`bench.cluster.Cluster`: private Redis, sandbox, control
plane, reconciler) with a single `fleet worker --queues send,scrape`. The load is scrape
sweeps, the cheapest browser job: each one leases an account, takes its context, opens a
page, reads the inbox and reports. The run keeps a sweep queued for every account
(`POST /v1/sweeps {"all": true}`) and now and then has a fan write in, so some sweeps
open a thread too.

Figures:

- RSS of the worker process and of everything below it (Playwright's driver, Chromium
  and its helpers), sampled with `workers.resources.tree_rss` about once a second; growth
  per 1,000 jobs is the least-squares slope of RSS over jobs done, after the first 10% of
  jobs (start-up and first page loads excluded);
- browser launches, planned restarts (against `FLEET_BROWSER_RESTART_EVERY`), unplanned
  relaunches and contexts recycled (against `FLEET_CONTEXTS_RECYCLE_EVERY`): the events
  the worker's browser host records, read from its JSON log
  (`workers.browser.events_in_log`);
- orphans: after the worker is stopped as its supervisor stops it (SIGTERM), the
  processes of its tree (recorded just before) or of its process group still alive once
  it has exited. Must be 0 (and the worker must exit within a minute of SIGTERM).

Progress lines while running; ONE JSON line at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cluster import BenchFailed, Cluster, FleetApi
from bench.script import add_run_dir_options, finish, run_as_script, run_dir
from cli.demo import Progress
from core.logging import configure_logging
from core.settings import get_settings
from sandbox.control_client import SandboxControl
from workers.browser import BrowserEvent, events_in_log
from workers.resources import descendants, tree_rss

MB = 2**20
PASSWORD = "soak-password-123"
# One fan writes in every this many jobs, so sweeps read threads as well as the inbox.
INBOUND_EVERY = 10
# RSS before this share of the jobs is start-up (first launches, caches filling), not growth.
WARM_UP_SHARE = 0.1
# How long stopped processes get to go before they count as orphans.
ORPHAN_GRACE_S = 10.0
# A SIGTERMed worker finishes its job, then exits; longer than this counts as a hang.
STOP_TIMEOUT_S = 60.0
# The default time allowed for the jobs: a loaded two-core machine manages 0.6 a second.
SECONDS_PER_JOB = 3.0


@dataclass(frozen=True)
class Sample:
    """RSS of the worker and of its process tree after `jobs` jobs."""

    jobs: int
    worker_rss: int
    chromium_rss: int


def growth_per_1k(samples: Sequence[Sample], field: str) -> float | None:
    """Least-squares slope of `field` over jobs done, in MB per 1,000 jobs; None with
    fewer than two distinct job counts."""
    points = [(sample.jobs, getattr(sample, field) / MB) for sample in samples]
    if len({jobs for jobs, _ in points}) < 2:
        return None
    slope, _intercept = statistics.linear_regression(
        [float(jobs) for jobs, _ in points], [rss for _, rss in points]
    )
    return slope * 1000


def _alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is dead, its parent just has not
    reaped it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group_members(pgid: int) -> set[int]:
    """Live processes in process group `pgid`."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(entry.name))
    return members


def stop_and_count_orphans(
    cluster: Cluster, grace_s: float = ORPHAN_GRACE_S
) -> tuple[float | None, int]:
    """SIGTERM the worker as its supervisor does and wait for it; return how long it took
    to exit (None if it had to be SIGKILLed after `STOP_TIMEOUT_S`) and how many processes
    of its tree or group were still alive `grace_s` after it exited (none should be)."""
    [worker] = cluster.workers
    pid = worker.process.pid
    tree = set(descendants(pid))
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    try:
        worker.process.wait(timeout=STOP_TIMEOUT_S)
        stop_s: float | None = time.monotonic() - started
    except subprocess.TimeoutExpired:
        stop_s = None
        os.killpg(pid, signal.SIGKILL)
        worker.process.wait(timeout=30)
    deadline = time.monotonic() + grace_s
    while True:
        left = {p for p in tree if _alive(p)} | _group_members(pid)
        if not left or time.monotonic() > deadline:
            return stop_s, len(left)
        time.sleep(0.1)


def _seed(cluster: Cluster, accounts: int, fans: int) -> list[tuple[str, list[str]]]:
    """Sandbox accounts with fans, registered over the API; each username with its fans."""
    control = SandboxControl(cluster.sandbox_url)
    admin = cluster.api()
    seeded = []
    try:
        for index in range(1, accounts + 1):
            username = f"soak{index}"
            control.create_account(username, PASSWORD, f"Soak Creator {index}")
            fan_ids = []
            for number in range(1, fans + 1):
                fan = control.create_fan(username, f"Fan {number}")
                control.inbound(username, fan, "hi there")
                fan_ids.append(fan.fan_id)
            admin.call(
                "POST",
                "/v1/accounts",
                json={
                    "name": f"Soak Creator {index}",
                    "profile": "sandbox",
                    "base_url": cluster.sandbox_url,
                    "username": username,
                    "password": PASSWORD,
                },
            )
            seeded.append((username, fan_ids))
    finally:
        admin.close()
    return seeded


def _finished_sweeps(api: FleetApi) -> tuple[int, int]:
    """(sweeps done, sweeps failed)."""
    return len(api.all_items("/v1/sweeps", status="done")), len(
        api.all_items("/v1/sweeps", status="failed")
    )


@dataclass(frozen=True)
class SoakPlan:
    """What one soak run does; `None` settings keep the product's defaults."""

    jobs: int = 3000
    accounts: int = 3
    fans_per_account: int = 3
    time_scale: float = 0.01
    recycle_every: int | None = None
    restart_every: int | None = None
    timeout_s: float | None = None
    seed: int = 1


def run_soak(plan: SoakPlan, var_dir: Path, progress: Progress) -> dict[str, Any]:
    """Run the soak and return its figures; every process is stopped on the way out."""
    settings = get_settings()
    recycle_every = plan.recycle_every or settings.contexts_recycle_every
    restart_every = plan.restart_every or settings.browser_restart_every
    cluster = Cluster(
        var_dir,
        plan.time_scale,
        extra_env={
            "FLEET_CONTEXTS_RECYCLE_EVERY": str(recycle_every),
            "FLEET_BROWSER_RESTART_EVERY": str(restart_every),
            "FLEET_LOG_FORMAT": "json",
        },
    )
    rng = random.Random(plan.seed)
    samples: list[Sample] = []
    try:
        cluster.start()
        worker = cluster.start_worker()
        seeded = _seed(cluster, plan.accounts, plan.fans_per_account)
        control = SandboxControl(cluster.sandbox_url)
        api = cluster.api()
        progress(
            f"one worker (pid {worker.process.pid}), {plan.accounts} accounts; contexts "
            f"recycled every {recycle_every} jobs, Chromium restarted every {restart_every}"
        )
        started = time.monotonic()
        limit_s = plan.timeout_s or SECONDS_PER_JOB * plan.jobs
        deadline = started + limit_s
        done = failed = last_report = inbound_at = 0
        timed_out = False
        while done + failed < plan.jobs:
            if time.monotonic() > deadline:
                # What the jobs done so far show is still worth measuring and reporting.
                progress(f"timed out after {limit_s:.0f}s at {done + failed} jobs; measuring")
                timed_out = True
                break
            cluster.check_alive()
            if cluster.exited_workers():
                raise BenchFailed(f"the worker exited; see {worker.log_path}")
            api.call("POST", "/v1/sweeps", json={"all": True})
            if done >= inbound_at + INBOUND_EVERY:
                username, fans = rng.choice(seeded)
                control.inbound(username, rng.choice(fans), f"still there? ({done})")
                inbound_at = done
            own, below = tree_rss(worker.process.pid)
            done, failed = _finished_sweeps(api)
            samples.append(Sample(done + failed, own, below))
            if done + failed >= last_report + max(plan.jobs // 20, 10):
                rate = (done + failed) / (time.monotonic() - started)
                progress(
                    f"{done + failed}/{plan.jobs} jobs ({failed} failed, {rate:.1f}/s); worker "
                    f"{own / MB:.0f} MB, Chromium and driver {below / MB:.0f} MB"
                )
                last_report = done + failed
            time.sleep(0.5)
        duration = time.monotonic() - started
        api.close()
        stop_s, orphans = stop_and_count_orphans(cluster)
        events = [e.kind for e in events_in_log(worker.log_path.read_text(errors="replace"))]
    finally:
        leftovers = cluster.stop()
    warm = [s for s in samples if s.jobs >= WARM_UP_SHARE * plan.jobs]

    def mb(value: float) -> float:
        return round(value / MB, 1)

    def slope(field: str) -> float | None:
        value = growth_per_1k(warm, field)
        return None if value is None else round(value, 1)

    return {
        "bench": "soak",
        "jobs": done + failed,
        "jobs_planned": plan.jobs,
        "timed_out": timed_out,
        "jobs_failed": failed,
        "duration_s": round(duration, 1),
        "jobs_per_s": round((done + failed) / duration, 2),
        "time_scale": plan.time_scale,
        "worker_rss_mb": {
            "start": mb(warm[0].worker_rss) if warm else None,
            "end": mb(samples[-1].worker_rss),
            "peak": mb(max(s.worker_rss for s in samples)),
        },
        "chromium_rss_mb": {
            "start": mb(warm[0].chromium_rss) if warm else None,
            "end": mb(samples[-1].chromium_rss),
            "peak": mb(max(s.chromium_rss for s in samples)),
        },
        "worker_rss_growth_mb_per_1k_jobs": slope("worker_rss"),
        "chromium_rss_growth_mb_per_1k_jobs": slope("chromium_rss"),
        "contexts_recycle_every": recycle_every,
        "browser_restart_every": restart_every,
        "contexts_recycled": events.count(BrowserEvent.context_recycled),
        "browser_launches": events.count(BrowserEvent.launched),
        "browser_planned_restarts": events.count(BrowserEvent.restarted),
        "browser_suspect_relaunches": events.count(BrowserEvent.relaunched),
        "worker_stop_s": None if stop_s is None else round(stop_s, 1),
        "orphans": orphans,
        "leftover_processes": leftovers,
    }


def _report(figure: dict[str, Any]) -> None:
    worker, chromium = figure["worker_rss_mb"], figure["chromium_rss_mb"]
    print("\nsoak figures", flush=True)
    print(
        f"  {figure['jobs']} jobs ({figure['jobs_failed']} failed) on one worker in "
        f"{figure['duration_s']}s ({figure['jobs_per_s']}/s)"
    )
    print(
        f"  worker RSS {worker['start']} -> {worker['end']} MB (peak {worker['peak']}), "
        f"{figure['worker_rss_growth_mb_per_1k_jobs']} MB per 1k jobs"
    )
    print(
        f"  Chromium and driver RSS {chromium['start']} -> {chromium['end']} MB (peak "
        f"{chromium['peak']}), {figure['chromium_rss_growth_mb_per_1k_jobs']} MB per 1k jobs"
    )
    print(
        f"  contexts recycled {figure['contexts_recycled']} (every "
        f"{figure['contexts_recycle_every']} jobs per account); Chromium launched "
        f"{figure['browser_launches']} times ({figure['browser_planned_restarts']} planned "
        f"restarts every {figure['browser_restart_every']} jobs, "
        f"{figure['browser_suspect_relaunches']} after a failure)"
    )
    stop = figure["worker_stop_s"]
    print(
        f"  SIGTERM to exit: {f'{stop}s' if stop is not None else 'HUNG, killed'}; "
        f"orphaned processes after the worker stopped: {figure['orphans']}; processes "
        f"of the run left at the end: {figure['leftover_processes']}",
        flush=True,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of `python -m bench.soak`."""
    defaults = SoakPlan()
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--jobs", type=int, default=defaults.jobs)
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument(
        "--recycle-every", type=int, default=None, help="FLEET_CONTEXTS_RECYCLE_EVERY"
    )
    parser.add_argument(
        "--restart-every", type=int, default=None, help="FLEET_BROWSER_RESTART_EVERY"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout_s,
        help=f"seconds for the jobs (default: {SECONDS_PER_JOB:g} per job)",
    )
    add_run_dir_options(parser)
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.accounts < 1:
        parser.error("--jobs and --accounts must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the soak; print progress and figures, then one JSON line; return the figures."""
    args = parse_args(argv)
    plan = SoakPlan(
        jobs=args.jobs,
        accounts=args.accounts,
        time_scale=args.time_scale,
        recycle_every=args.recycle_every,
        restart_every=args.restart_every,
        timeout_s=args.timeout,
    )
    settings = get_settings()
    # The bench speaks through its progress lines; each child logs to its own file.
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}), "bench")
    root = run_dir(args, settings.var_dir, "soak")
    progress = Progress()
    try:
        figure = run_soak(plan, root, progress)
        _report(figure)
        passed = (
            not figure["timed_out"]
            and figure["worker_stop_s"] is not None
            and figure["orphans"] == 0
            and figure["leftover_processes"] == 0
        )
    except (BenchFailed, TimeoutError, RuntimeError) as exc:
        progress(f"FAILED: {exc}")
        figure, passed = {"bench": "soak", "error": str(exc)[:500]}, False
    figure["passed"] = passed
    return finish(figure, root, args.keep_var)


if __name__ == "__main__":
    run_as_script(main)
