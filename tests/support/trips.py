"""Counting the trips SQLite statements make to pooled connections' driver threads: each trip
wakes a thread and then the event loop, and a read that runs on the loop makes none."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class _TripCounter:
    """Stands in front of a connection's request queue and counts what is sent to its thread."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.trips = 0

    def put_nowait(self, item: Any) -> None:
        self.trips += 1
        self.queue.put_nowait(item)


def count_trips(pools: Iterable[Any]) -> Callable[[], int]:
    """Start counting on every connection the pools have opened; returns the running total."""
    counters = []
    for pool in pools:
        for connection in pool._opened:
            counter = _TripCounter(connection._tx)
            connection._tx = counter
            counters.append(counter)
    return lambda: sum(counter.trips for counter in counters)
