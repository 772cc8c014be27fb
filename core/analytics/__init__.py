"""Figures over a window (`window`): what AI drafting did (`ai`), what fans paid and how
PPV offers convert (`revenue`), and the one way every percentile is computed (`stats`),
shared with the benchmarks."""

from core.analytics.ai import AiReport, DayTokens, Waits, cost_usd, report
from core.analytics.revenue import Conversion, DayRevenue, RevenueReport
from core.analytics.stats import percentile
from core.analytics.window import Window

__all__ = [
    "AiReport",
    "Conversion",
    "DayRevenue",
    "DayTokens",
    "RevenueReport",
    "Waits",
    "Window",
    "cost_usd",
    "percentile",
    "report",
]
