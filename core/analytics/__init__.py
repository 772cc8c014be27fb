"""Figures: what AI drafting did over a window (`ai`), and the one way every percentile
is computed (`stats`), shared with the benchmarks."""

from core.analytics.ai import AiReport, DayTokens, Waits, Window, cost_usd, report
from core.analytics.stats import percentile

__all__ = ["AiReport", "DayTokens", "Waits", "Window", "cost_usd", "percentile", "report"]
