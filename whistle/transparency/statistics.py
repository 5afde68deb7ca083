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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

from whistle.db import engine as db
from whistle.db.outage import is_unavailable
from whistle.reports.content import CATEGORIES

# Fewer reports than this behind a figure and the public does not see it.
MIN_CASES = 5
MONTHS_SHOWN = 12
# The office's calendar (WIB): a report received at 23.30 WIB belongs to that day's month.
WIB = timezone(timedelta(hours=7), "WIB")

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


def _share(hits: int, cases: int) -> Measure:
    return Measure(round(100 * hits / cases, 1) if cases else None, cases)


class _Sql:
    """The few expressions that differ between SQLite (text timestamps) and PostgreSQL.
    Every expression is a constant of this module, never input."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite

    def at(self, column: str) -> str:
        """A comparable instant: SQLite keeps timestamps as text, so compare Julian days."""
        return f"julianday({column})" if self.sqlite else column

    def days(self, start: str, end: str) -> str:
        if self.sqlite:
            return f"(julianday({end}) - julianday({start}))"
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"

    def wib_month(self, column: str) -> str:
        if self.sqlite:
            return f"strftime('%Y-%m', {column}, '+7 hours')"
        return f"to_char(({column} AT TIME ZONE 'UTC') + interval '7 hours', 'YYYY-MM')"

    def now(self, now: datetime) -> object:
        return now.astimezone(UTC).isoformat() if self.sqlite else now


async def _counts(expression: str, where: str = "") -> Counter[str]:
    rows = await db.fetch(
        f"SELECT {expression} AS code, COUNT(*) AS n FROM report {where} GROUP BY {expression}"  # noqa: S608
    )
    return Counter({str(row["code"]): int(row["n"]) for row in rows})


async def _median_days(sql: _Sql, start: str, end: str) -> Measure:
    """The median of ``end - start`` in days over reports that have ``end``, sorted in SQL."""
    where = f"FROM report WHERE {end} IS NOT NULL"
    count = int((await db.fetch(f"SELECT COUNT(*) AS n {where}"))[0]["n"])
    if not count:
        return Measure(None, 0)
    middle = await db.fetch(
        f"SELECT {sql.days(start, end)} AS d {where} ORDER BY d LIMIT {{}} OFFSET {{}}",
        2 - count % 2,
        (count - 1) // 2,
    )
    return Measure(round(pystats.fmean(float(row["d"]) for row in middle), 1), count)


async def _in_time(sql: _Sql, done: str, due: str, judged: str, *args: object) -> Measure:
    """Share of reports with ``done`` no later than ``due``, among those ``judged`` selects."""
    on_time = f"{done} IS NOT NULL AND {sql.at(done)} <= {sql.at(due)}"
    rows = await db.fetch(
        f"SELECT COUNT(*) AS cases, "  # noqa: S608
        f"COALESCE(SUM(CASE WHEN {on_time} THEN 1 ELSE 0 END), 0) AS hits "
        f"FROM report WHERE {judged}",
        *args,
    )
    return _share(int(rows[0]["hits"]), int(rows[0]["cases"]))


async def compute(now: datetime | None = None) -> Statistics:
    """Every figure over every report, unsuppressed (the auditor's view).

    Aggregated in SQL on a reader's thread, so the event loop never waits for the scan.
    """
    with db.long_reads():
        return await _compute(now)


async def _compute(now: datetime | None) -> Statistics:
    now = now or datetime.now(UTC)
    sql = _Sql(db.is_sqlite())
    months = _months_back(now, MONTHS_SHOWN)
    per_month = await _counts(sql.wib_month("received_at"))
    return Statistics(
        computed_at=now,
        per_month=_distribution(Counter({m: per_month.get(m, 0) for m in months}), months),
        by_category=_distribution(await _counts("category"), CATEGORIES),
        by_status=_distribution(await _counts("status"), ()),
        by_outcome=_distribution(await _counts("outcome", "WHERE outcome IS NOT NULL"), ()),
        days_to_acknowledge=await _median_days(sql, "received_at", "acknowledged_at"),
        days_to_conclude=await _median_days(sql, "received_at", "concluded_at"),
        # Judged once acknowledged, or once the deadline has passed without it.
        acknowledged_in_time=await _in_time(
            sql,
            "acknowledged_at",
            "acknowledge_due",
            f"acknowledged_at IS NOT NULL OR {sql.at('acknowledge_due')} <= {sql.at('{}')}",
            sql.now(now),
        ),
        concluded_in_time=await _in_time(
            sql,
            "concluded_at",
            "feedback_due",
            "concluded_at IS NOT NULL AND feedback_due IS NOT NULL",
        ),
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
    """The value alone, or nothing when it rests on too few reports. The number of reports
    behind it is not published: subtracted from a table's total it could reveal a hidden cell
    (15 reports, 12 acknowledged: the 3 still waiting)."""
    if measure.cases is not None and 0 < measure.cases < MIN_CASES:
        return Measure(None, None)
    return Measure(measure.value, None)


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


# How often the public figures' source is checked for a change (one index lookup).
SOURCE_CHECK_SECONDS = 1.0


async def source_stamp() -> int | None:
    """The newest status event: it moves with every change to what the figures count, each of
    which writes one in its own transaction (the release's "received" for every report it
    publishes; every workflow transition, which also sets acknowledgement, conclusion and
    outcome). Reports are never deleted and their category never changes. An index lookup."""
    rows = await db.fetch("SELECT MAX(id) AS newest FROM status_event")
    newest = rows[0]["newest"]
    return None if newest is None else int(newest)


class PublicStatisticsCache:
    """The public figures, recomputed when what they count has changed, and at least every
    ``max_age`` seconds (deadlines pass and months turn with time alone).

    The page is public and unauthenticated: without this, each request would scan the report
    table. At most every ``check_seconds`` a request starts one background task that looks at
    the source (``source_stamp``, one index lookup) and recomputes the figures when it moved:
    the hourly release published, an officer moved a case. So a page outlives such a change by
    at most the check interval and one computation, and no request waits for the database
    (while it is unreachable the figures at hand are served). Only the first request waits,
    for the first figures.
    """

    def __init__(
        self,
        max_age: float,
        *,
        check_seconds: float = SOURCE_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self._check_seconds = check_seconds
        self._clock = clock
        self._figures: Statistics | None = None
        # A new number for each computation: the key of what is rendered from the figures.
        self._version = 0
        self._at = 0.0
        self._stamp: int | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    async def _recompute(self, seen: int) -> None:
        """New figures, unless another computation has replaced version ``seen`` meanwhile."""
        async with self._lock:  # one computation at a time
            if self._version != seen:
                return
            # Read first: a change made during the computation moves it again.
            stamp = await source_stamp()
            figures = for_public(await compute())
            self._figures, self._stamp, self._version = figures, stamp, self._version + 1
            self._at = self._checked_at = self._clock()

    async def _refresh_figures(self, seen: int, *, expired: bool) -> None:
        """Recompute expired figures, or figures whose source has moved; while the database is
        unreachable, keep those at hand (the next check tries again)."""
        try:
            if expired or await source_stamp() != self._stamp:
                await self._recompute(seen)
        except Exception as error:
            if not is_unavailable(error):
                raise

    async def get(self) -> Statistics:
        return (await self.get_versioned())[0]

    async def get_versioned(self) -> tuple[Statistics, int]:
        """The figures and their version: a key for what is rendered from them."""
        if self._figures is None:  # a burst at start-up waits for one computation
            await self._recompute(self._version)
        now = self._clock()
        expired = now - self._at > self.max_age
        if (expired or now - self._checked_at >= self._check_seconds) and (
            self._refresh is None or self._refresh.done()
        ):
            self._checked_at = now
            self._refresh = asyncio.create_task(
                self._refresh_figures(self._version, expired=expired)
            )
        assert self._figures is not None
        return self._figures, self._version

    async def settle(self) -> None:
        """Wait for a check or recomputation under way (at shutdown, before the database
        closes; in tests, before reading what it found)."""
        if self._refresh is not None:
            await self._refresh


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
