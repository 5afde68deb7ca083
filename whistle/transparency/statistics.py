"""Aggregate statistics from plain workflow metadata (never decrypted content).

``compute`` counts every report; ``for_public`` hides any figure drawn from fewer than
``MIN_CASES`` reports so that no single report can be picked out, including by subtracting the
shown cells of a table from its shown total (secondary suppression). Auditors get the figures
as computed.
"""

from __future__ import annotations

import asyncio
import statistics as pystats
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

from whistle.db.tables import Report
from whistle.reports.content import CATEGORIES

# Fewer reports than this behind a figure and the public does not see it.
MIN_CASES = 5
MONTHS_SHOWN = 12
# The office's calendar (WIB): a report received at 23.30 WIB belongs to that day's month.
WIB = timezone(timedelta(hours=7), "WIB")
SECONDS_PER_DAY = 86400

Count = int | None  # None: suppressed


@dataclass(frozen=True)
class Distribution:
    """Counts per code with their total; a suppressed cell or total is None."""

    counts: dict[str, Count]
    total: Count

    @property
    def largest(self) -> int:
        return max([value or 0 for value in self.counts.values()] + [1])


@dataclass(frozen=True)
class Measure:
    """A figure (median days or a percentage) and how many reports it is drawn from."""

    value: float | None
    cases: Count


@dataclass(frozen=True)
class Statistics:
    computed_at: datetime
    per_month: Distribution
    by_category: Distribution
    by_status: Distribution
    by_outcome: Distribution
    days_to_acknowledge: Measure
    days_to_conclude: Measure
    acknowledged_in_time: Measure  # percent of reports whose acknowledgement deadline has come
    concluded_in_time: Measure  # percent of concluded reports with a feedback deadline
    suppressed: bool = field(default=False)


def _months_back(now: datetime, count: int) -> list[str]:
    local = now.astimezone(WIB)
    year, month = local.year, local.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _distribution(counter: Counter[str], codes: Iterable[str]) -> Distribution:
    counts: dict[str, Count] = {code: counter.get(code, 0) for code in codes}
    for code, value in counter.items():
        counts.setdefault(code, value)
    return Distribution(counts=counts, total=sum(value or 0 for value in counts.values()))


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_DAY


def _median(values: list[float]) -> Measure:
    return Measure(round(pystats.median(values), 1) if values else None, len(values))


def _share(hits: int, cases: int) -> Measure:
    return Measure(round(100 * hits / cases, 1) if cases else None, cases)


async def compute(now: datetime | None = None) -> Statistics:
    """Every figure over every report, unsuppressed (the auditor's view)."""
    now = now or datetime.now(UTC)
    rows = await Report.select(
        Report.category,
        Report.status,
        Report.outcome,
        Report.received_at,
        Report.acknowledge_due,
        Report.acknowledged_at,
        Report.feedback_due,
        Report.concluded_at,
    )
    months = _months_back(now, MONTHS_SHOWN)
    per_month: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    to_acknowledge: list[float] = []
    to_conclude: list[float] = []
    ack_due = ack_in_time = concluded_due = concluded_in_time = 0
    for row in rows:
        month = row["received_at"].astimezone(WIB).strftime("%Y-%m")
        if month in months:
            per_month[month] += 1
        categories[row["category"]] += 1
        statuses[row["status"]] += 1
        if row["outcome"]:
            outcomes[row["outcome"]] += 1
        acknowledged = row["acknowledged_at"]
        if acknowledged is not None:
            to_acknowledge.append(_days(row["received_at"], acknowledged))
        # Only reports whose deadline has passed, or that were acknowledged, can be judged.
        if acknowledged is not None or row["acknowledge_due"] <= now:
            ack_due += 1
            ack_in_time += acknowledged is not None and acknowledged <= row["acknowledge_due"]
        concluded = row["concluded_at"]
        if concluded is not None:
            to_conclude.append(_days(row["received_at"], concluded))
            if row["feedback_due"] is not None:
                concluded_due += 1
                concluded_in_time += concluded <= row["feedback_due"]
    return Statistics(
        computed_at=now,
        per_month=_distribution(per_month, months),
        by_category=_distribution(categories, CATEGORIES),
        by_status=_distribution(statuses, ()),
        by_outcome=_distribution(outcomes, ()),
        days_to_acknowledge=_median(to_acknowledge),
        days_to_conclude=_median(to_conclude),
        acknowledged_in_time=_share(ack_in_time, ack_due),
        concluded_in_time=_share(concluded_in_time, concluded_due),
    )


def suppress_distribution(distribution: Distribution) -> Distribution:
    """Hide cells of 1 to MIN_CASES-1 reports, and enough others that none can be recovered.

    A lone hidden cell equals the total minus the shown cells, so the next smallest non-zero
    cell is hidden with it; a total below MIN_CASES hides the whole table. Zero is shown: it
    points at nobody.
    """
    counts = {code: value or 0 for code, value in distribution.counts.items()}
    total = sum(counts.values())
    if 0 < total < MIN_CASES:
        return Distribution(counts=dict.fromkeys(counts), total=None)
    hidden = {code for code, value in counts.items() if 0 < value < MIN_CASES}
    if len(hidden) == 1:
        others = [(value, code) for code, value in counts.items() if value and code not in hidden]
        if others:
            hidden.add(min(others)[1])
    return Distribution(
        counts={code: None if code in hidden else value for code, value in counts.items()},
        total=total,
    )


def _suppress_measure(measure: Measure) -> Measure:
    if measure.cases is not None and 0 < measure.cases < MIN_CASES:
        return Measure(None, None)
    return measure


def for_public(figures: Statistics) -> Statistics:
    """The same figures with every small cell hidden (see the module doc)."""
    return replace(
        figures,
        per_month=suppress_distribution(figures.per_month),
        by_category=suppress_distribution(figures.by_category),
        by_status=suppress_distribution(figures.by_status),
        by_outcome=suppress_distribution(figures.by_outcome),
        days_to_acknowledge=_suppress_measure(figures.days_to_acknowledge),
        days_to_conclude=_suppress_measure(figures.days_to_conclude),
        acknowledged_in_time=_suppress_measure(figures.acknowledged_in_time),
        concluded_in_time=_suppress_measure(figures.concluded_in_time),
        suppressed=True,
    )


class PublicStatisticsCache:
    """The public figures, recomputed at most every ``max_age`` seconds.

    The page is public and unauthenticated: without this, each request would scan the report
    table. A few minutes' delay also blurs the moment a single new report changes a figure.
    """

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._figures: Statistics | None = None
        self._at = 0.0
        # One recomputation at a time: a burst after expiry waits for it instead of repeating it.
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._figures is not None and time.monotonic() - self._at <= self.max_age

    async def get(self) -> Statistics:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    self._figures = for_public(await compute())
                    self._at = time.monotonic()
        assert self._figures is not None
        return self._figures


def rows_for_export(figures: Statistics) -> list[tuple[str, str, object]]:
    """(table, code, value) rows: one table for the CSV export, the same figures as the page."""
    rows: list[tuple[str, str, object]] = []
    tables: Mapping[str, Distribution] = {
        "per_month": figures.per_month,
        "by_category": figures.by_category,
        "by_status": figures.by_status,
        "by_outcome": figures.by_outcome,
    }
    for name, distribution in tables.items():
        rows.extend((name, code, value) for code, value in distribution.counts.items())
        rows.append((name, "total", distribution.total))
    measures = {
        "median_days_to_acknowledge": figures.days_to_acknowledge,
        "median_days_to_conclude": figures.days_to_conclude,
        "percent_acknowledged_in_time": figures.acknowledged_in_time,
        "percent_concluded_in_time": figures.concluded_in_time,
    }
    for name, measure in measures.items():
        rows.append((name, "value", measure.value))
        rows.append((name, "cases", measure.cases))
    return rows
