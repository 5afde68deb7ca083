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
