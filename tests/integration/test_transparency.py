"""Statistics on seeded cases: the right figures; small cells hidden from the public (with the
cells that would let them be worked out) and shown to the auditor."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.cases import as_officer
from tests.support.forms import CSRF_FIELD, VALID_REPORT
from tests.support.officers import logged_in, make_officer
from tests.support.release import publish
from whistle.cases import service as cases
from whistle.db.tables import Report
from whistle.intake import service as intake
from whistle.intake.schemas import validate_report
from whistle.transparency import statistics as stats
from whistle.transparency.routes import statistics_csv
from whistle.transparency.statistics import WIB

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
RECEIVED = NOW - timedelta(days=210)
DAY = timedelta(days=1)


async def seed(
    category: str,
    status: str,
    *,
    acknowledged_day: int | None = None,
    concluded_day: int | None = None,
    outcome: str | None = None,
) -> None:
    acknowledged = RECEIVED + acknowledged_day * DAY if acknowledged_day else None
    await Report.insert(
        Report(
            id=uuid.uuid4(),
            case_number=f"2026-{uuid.uuid4().hex[:8].upper()}",
            lookup_id=uuid.uuid4().hex * 2,
            category=category,
            status=status,
            outcome=outcome,
            received_at=RECEIVED,
            acknowledge_due=RECEIVED + 7 * DAY,
            acknowledged_at=acknowledged,
            feedback_due=acknowledged + 90 * DAY if acknowledged else None,
            updated_at=NOW,
            concluded_at=RECEIVED + concluded_day * DAY if concluded_day else None,
            content=b"ciphertext",
        )
    )


CONCLUDE_DAYS = [20, 30, 40, 50, 60, 70, 200]


async def seed_fifteen() -> None:
    """pungli 7, calo 6, gratifikasi/suap 2; received 3, verification 5, concluded 7
    (not substantiated 6, ethics 1); acknowledged on days 1..12, concluded on CONCLUDE_DAYS."""
    categories = ["pungli"] * 7 + ["calo"] * 6 + ["gratifikasi_suap"] * 2
    for index, day in enumerate(CONCLUDE_DAYS):
        outcome = "substantiated_ethics" if index == 0 else "not_substantiated"
        await seed(
            categories[index],
            "concluded",
            acknowledged_day=index + 1,
            concluded_day=day,
            outcome=outcome,
        )
    for index in range(5):
        await seed(categories[7 + index], "verification", acknowledged_day=8 + index)
    for index in range(3):
        await seed(categories[12 + index], "received")


def month_of_seeds() -> str:
    return RECEIVED.astimezone(WIB).strftime("%Y-%m")


async def test_figures_over_seeded_cases(database):
    await seed_fifteen()
    figures = await stats.compute()
    assert figures.by_category.total == 15
    assert figures.by_category.counts["pungli"] == 7
    assert figures.by_category.counts["calo"] == 6
    assert figures.by_category.counts["gratifikasi_suap"] == 2
    assert figures.by_category.counts["lainnya"] == 0
    assert figures.by_status.counts == {"concluded": 7, "verification": 5, "received": 3}
    assert figures.by_outcome.counts == {"substantiated_ethics": 1, "not_substantiated": 6}
    assert figures.per_month.counts[month_of_seeds()] == 15
    assert figures.per_month.total == 15
    assert len(figures.per_month.counts) == stats.MONTHS_SHOWN
    # Acknowledged on days 1..12: median 6.5; on time (day 7 or earlier) 7 of the 15 whose
    # deadline has come (the 3 still unacknowledged are late).
    assert figures.days_to_acknowledge == stats.Measure(6.5, 12)
    assert figures.acknowledged_in_time == stats.Measure(46.7, 15)
    # Concluded: median of CONCLUDE_DAYS; the one at day 200 missed its 90-day feedback.
    assert figures.days_to_conclude == stats.Measure(50.0, 7)
    assert figures.concluded_in_time == stats.Measure(85.7, 7)


async def test_public_figures_hide_small_cells_and_their_complements(database):
    await seed_fifteen()
    public = stats.for_public(await stats.compute())
    # gratifikasi/suap (2) is hidden; calo, the smallest other, with it, or 15 - 7 - 0 = 8
    # would give it away.
    assert public.by_category.counts["gratifikasi_suap"] is None
    assert public.by_category.counts["calo"] is None
    assert public.by_category.counts["pungli"] == 7
    assert public.by_category.counts["lainnya"] == 0
    assert public.by_category.total == 15
    assert public.by_status.counts == {"concluded": 7, "verification": None, "received": None}
    assert public.by_outcome.counts == {"substantiated_ethics": None, "not_substantiated": None}
    assert public.days_to_conclude == stats.Measure(50.0, None)
    # 15 reports, 12 acknowledged: publishing the 12 would reveal the 3 hidden "received".
    assert public.days_to_acknowledge == stats.Measure(6.5, None)
    # No table lets a hidden cell be recovered from its total.
    for table in (public.by_category, public.by_status, public.by_outcome, public.per_month):
        hidden = [code for code, value in table.counts.items() if value is None]
        assert len(hidden) != 1


async def test_fewer_than_five_reports_hide_every_figure(database):
    for day in (1, 2, 3):
        await seed("pungli", "concluded", acknowledged_day=day, concluded_day=10)
    figures = await stats.compute()
    assert figures.by_category.total == 3
    public = stats.for_public(figures)
    assert public.by_category.total is None
    assert set(public.by_category.counts.values()) == {None}
    assert public.per_month.total is None
    assert public.days_to_acknowledge == stats.Measure(None, None)
    assert public.days_to_conclude == stats.Measure(None, None)
    assert public.acknowledged_in_time == stats.Measure(None, None)


async def test_public_page_and_api_show_the_suppressed_figures(client, ctx):
    await seed_fifteen()
    api = (await client.get("/api/v1/stats")).json()
    categories = {item["code"]: item["count"] for item in api["by_category"]["counts"]}
    assert categories["pungli"] == 7
    assert categories["calo"] is None and categories["gratifikasi_suap"] is None
    assert api["by_category"]["total"] == 15
    assert api["min_cases"] == 5
    assert api["median_days_to_conclude"] == {"value": 50.0, "cases": None}

    page = await client.get("/transparency")
    assert page.status_code == 200
    assert "<svg" in page.text and "<script" not in page.text
    assert "<table>" in page.text
    assert "set-cookie" not in page.headers
    row = '<th scope="row">Calo / percaloan</th><td class="num"><abbr'
    assert row in page.text, "the hidden cell shows as -"
    assert '<th scope="row">Pungutan liar (pungli)</th><td class="num">7</td>' in page.text


async def test_public_figures_are_cached(client, ctx):
    await seed_fifteen()
    first = (await client.get("/api/v1/stats")).json()
    await seed("lainnya", "received")
    again = (await client.get("/api/v1/stats")).json()
    assert again == first, "recomputed at most every few minutes, not per request"


async def test_openapi_documents_the_statistics(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "get" in schema["paths"]["/api/v1/stats"]
    assert "StatisticsOut" in str(schema["components"]["schemas"])


async def test_auditor_sees_every_figure_and_exports_them(client, ctx):
    await seed_fifteen()
    await make_officer(ctx, "inspektorat", ["auditor"])
    await logged_in(client, ctx, "inspektorat")
    page = await client.get("/officer/statistics")
    assert page.status_code == 200
    assert '<th scope="row">Calo / percaloan</th><td class="num">6</td>' in page.text
    assert '<th scope="row">Gratifikasi / suap</th><td class="num">2</td>' in page.text
    assert CSRF_FIELD.search(page.text), "officer layout (logout form)"

    export = await client.get("/officer/statistics/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["table", "code", "value"]
    assert ["by_category", "gratifikasi_suap", "2"] in rows
    assert ["by_status", "received", "3"] in rows
    assert ["median_days_to_conclude", "value", "50.0"] in rows


async def test_statistics_export_is_formula_safe():
    figures = stats.Statistics(
        computed_at=NOW,
        per_month=stats.Distribution({"=cmd|' /C calc'!A0": 9}, 9),
        by_category=stats.Distribution({}, 0),
        by_status=stats.Distribution({}, 0),
        by_outcome=stats.Distribution({}, 0),
        days_to_acknowledge=stats.Measure(None, 0),
        days_to_conclude=stats.Measure(None, 0),
        acknowledged_in_time=stats.Measure(None, 0),
        concluded_in_time=stats.Measure(None, 0),
    )
    assert "\r\nper_month,'=cmd" in statistics_csv(figures)


async def test_stale_figures_are_served_while_they_are_recomputed(database):
    await seed_fifteen()
    cache = stats.PublicStatisticsCache(max_age=1)
    first, version = await cache.get_versioned()
    assert first.by_category.total == 15
    await seed("lainnya", "received")
    assert await cache.get() is first, "fresh figures are not recomputed"
    await asyncio.sleep(1.1)
    # Expired: the request gets the figures at hand at once, and one recomputation starts.
    assert await cache.get() is first
    await cache.settle()
    latest, latest_version = await cache.get_versioned()
    assert latest.by_category.total == 16
    # The rendered page is keyed by the version: one rendered for old figures is not served.
    assert latest_version != version


def _statistics_cache(client: httpx.AsyncClient) -> stats.PublicStatisticsCache:
    """The public figures of the app the test client talks to."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app.state.public_statistics  # type: ignore[attr-defined]


async def _later(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """``path`` once the figures' source has been checked again (SOURCE_CHECK_SECONDS after the
    last check, in the background: the request that starts it is answered at once)."""
    await asyncio.sleep(stats.SOURCE_CHECK_SECONDS)
    await client.get(path)
    await _statistics_cache(client).settle()
    return await client.get(path)


async def _by_status(client) -> dict[str, int | None]:
    figures = (await _later(client, "/api/v1/stats")).json()
    return {item["code"]: item["count"] for item in figures["by_status"]["counts"]}


async def test_public_figures_follow_the_release_and_the_workflow(client, ctx):
    """The page is stored per set of figures; the figures are recomputed once the release has
    published a report or an officer has moved a case (the source checked every
    SOURCE_CHECK_SECONDS): a page that kept the old figures would be a bug."""
    await make_officer(ctx, "tri", ["triage"])
    await seed_fifteen()
    for _ in range(3):  # enough received reports that no status cell is hidden
        await seed("lainnya", "received")
    pungli = '<th scope="row">Pungutan liar (pungli)</th><td class="num">{}</td>'
    assert pungli.format(7) in (await client.get("/transparency")).text
    await intake.submit_report(
        ctx, validate_report({**VALID_REPORT, "category": "pungli"}, excluded=[])
    )
    assert pungli.format(7) in (await _later(client, "/transparency")).text, "before release"

    await publish(ctx)
    assert pungli.format(8) in (await _later(client, "/transparency")).text
    assert await _by_status(client) == {"concluded": 7, "verification": 5, "received": 7}

    [case] = (
        await Report.select(Report.case_number)
        .where(Report.status == "received")
        .where(Report.category == "pungli")
        .where(Report.content != b"ciphertext")
    )
    officer = await as_officer(ctx, "tri")
    await cases.apply_transition(ctx, officer, case["case_number"], "verify", reason="Cek.")
    assert await _by_status(client) == {"concluded": 7, "verification": 6, "received": 6}
