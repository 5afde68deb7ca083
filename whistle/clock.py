"""Time rules shared by every layer: the office's wall clock and reporter-time rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

# The office's wall clock (WIB, UTC+7, no daylight saving). Times shown to people are in it, and
# a day in a filter is a day in it.
WIB_OFFSET = timedelta(hours=7)
WIB = timezone(WIB_OFFSET, "WIB")


def to_the_hour(moment: datetime) -> datetime:
    """Reporter-originated times are stored to the hour (threat model 2)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def release_period_end(moment: datetime, period_minutes: int) -> datetime:
    """The end of the release period ``moment`` falls in: reporter-originated writes of that
    period are published together then (threat model 2). Periods tile the UTC day, so with 60
    minutes they are the clock hours (WIB is a whole number of hours off UTC)."""
    moment = moment.astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (moment - midnight) // timedelta(minutes=period_minutes)
    return midnight + (elapsed + 1) * timedelta(minutes=period_minutes)
