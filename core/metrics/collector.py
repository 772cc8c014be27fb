"""What `/metrics` shows, read when Prometheus scrapes: queue depths and the oldest job's
age per queue, sends by status and deliveries, drafts pending and the oldest wait, each
live worker's memory and its Chromium's, LLM tokens, throttle events, and the histograms
of job durations (by kind) and pacer waits that the workers record (`core.fleet.metrics`).

Every reading comes from the stores the fleet already keeps (the database, RQ's queues,
the heartbeats), so any control plane replica answers the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis import Redis
from sqlalchemy import func, select

from core.clock import utcnow
from core.db import Database
from core.enums import DraftStatus, SendStatus
from core.fleet import metrics as fleet_metrics
from core.fleet.heartbeats import live_workers
from core.fleet.queue_stats import queue_stats
from core.models import AiUsage, Draft, Send
from core.settings import Settings


class FleetCollector(Collector):
    """Reads the fleet's state for one scrape."""

    def __init__(self, database: Database, redis: Redis, settings: Settings) -> None:
        self.database = database
        self.redis = redis
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        """Every metric family, read now."""
        now = utcnow()
        yield from self._queues(now)
        yield from self._rows(now)
        yield from self._workers()
        yield from self._recorded()

    def _queues(self, now: datetime) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "fleet_queue_depth",
            "Jobs waiting on the queue (queued or rate limited).",
            labels=["queue"],
        )
        scheduled = GaugeMetricFamily(
            "fleet_queue_scheduled", "Jobs waiting out a backoff.", labels=["queue"]
        )
        started = GaugeMetricFamily("fleet_queue_started", "Jobs running.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "fleet_queue_oldest_job_age_seconds",
            "Age of the oldest waiting job; 0 when none waits.",
            labels=["queue"],
        )
        for name, stats in sorted(queue_stats(self.redis).items()):
            depth.add_metric([name], stats.waiting)
            scheduled.add_metric([name], stats.scheduled)
            started.add_metric([name], stats.started)
            age = (
                0.0
                if stats.oldest_waiting_at is None
                else (now - stats.oldest_waiting_at).total_seconds()
            )
            oldest.add_metric([name], max(age, 0.0))
        yield from (depth, scheduled, started, oldest)

    def _rows(self, now: datetime) -> Iterator[Metric]:
        with self.database.session() as session:
            by_status = {
                status: number
                for status, number in session.execute(
                    select(Send.status, func.count()).group_by(Send.status)
                )
            }
            pending, oldest_ms = session.execute(
                select(func.count(), func.min(Draft.wait_since_ms)).where(
                    Draft.status == DraftStatus.pending
                )
            ).one()
            prompt, completion = session.execute(
                select(
                    func.coalesce(func.sum(AiUsage.prompt_tokens), 0),
                    func.coalesce(func.sum(AiUsage.completion_tokens), 0),
                )
            ).one()
        sends = GaugeMetricFamily("fleet_sends", "Sends by status.", labels=["status"])
        for status in SendStatus:
            sends.add_metric([status.value], by_status.get(status, 0))
        yield sends
        yield CounterMetricFamily(
            "fleet_deliveries",
            "Sends delivered on a platform.",
            value=by_status.get(SendStatus.delivered, 0),
        )
        yield GaugeMetricFamily(
            "fleet_drafts_pending", "Drafts waiting for a decision.", value=pending
        )
        wait = 0.0 if oldest_ms is None else max(now.timestamp() - oldest_ms / 1000, 0.0)
        yield GaugeMetricFamily(
            "fleet_draft_oldest_wait_seconds",
            "How long the longest-waiting pending draft's fan has waited; 0 when none.",
            value=wait,
        )
        tokens = CounterMetricFamily(
            "fleet_llm_tokens", "LLM tokens used by drafting.", labels=["kind"]
        )
        tokens.add_metric(["prompt"], prompt)
        tokens.add_metric(["completion"], completion)
        yield tokens

    def _workers(self) -> Iterator[Metric]:
        rss = GaugeMetricFamily(
            "fleet_worker_rss_bytes", "Resident memory of a live browser worker.", labels=["worker"]
        )
        chromium = GaugeMetricFamily(
            "fleet_worker_chromium_rss_bytes",
            "Resident memory of a live worker's Chromium processes.",
            labels=["worker"],
        )
        workers = live_workers(self.redis, self.settings)
        for seen in workers:
            beat = seen.heartbeat
            rss.add_metric([beat.worker_id], beat.rss_bytes)
            chromium.add_metric([beat.worker_id], beat.chromium_rss_bytes)
        yield GaugeMetricFamily(
            "fleet_workers", "Browser workers with a current heartbeat.", value=len(workers)
        )
        yield from (rss, chromium)

    def _recorded(self) -> Iterator[Metric]:
        prefix = self.settings.redis_key_prefix
        counted = fleet_metrics.counters(self.redis, prefix)
        yield CounterMetricFamily(
            "fleet_throttle_events",
            "Times a platform showed its slow-down signal.",
            value=counted.get(fleet_metrics.THROTTLE_EVENTS, 0),
        )
        jobs = HistogramMetricFamily(
            "fleet_job_duration_seconds", "Browser job durations, by kind.", labels=["kind"]
        )
        for histogram in fleet_metrics.histograms(
            self.redis,
            prefix,
            fleet_metrics.JOB_SECONDS,
            fleet_metrics.JOB_KINDS,
            fleet_metrics.JOB_BUCKETS,
        ):
            jobs.add_metric([histogram.label], histogram.buckets, histogram.sum)
        yield jobs
        pacer = HistogramMetricFamily(
            "fleet_pacer_wait_seconds", "Time a job's actions waited for the pacer, per job."
        )
        for histogram in fleet_metrics.histograms(
            self.redis, prefix, fleet_metrics.PACER_SECONDS, ["all"], fleet_metrics.PACER_BUCKETS
        ):
            pacer.add_metric([], histogram.buckets, histogram.sum)
        yield pacer
