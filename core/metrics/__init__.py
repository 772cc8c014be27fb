"""What `/metrics` shows Prometheus, read from the fleet's stores when scraped
(`collector`); the histograms and counters workers add to live in `core.fleet.metrics`."""

from core.metrics.collector import FleetCollector

__all__ = ["FleetCollector"]
