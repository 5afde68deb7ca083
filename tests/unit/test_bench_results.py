"""The benchmark table judges a figure against its goal only where the goal is a plain bound."""

from __future__ import annotations

import pytest

from bench.results import verdict


@pytest.mark.parametrize(
    ("value", "goal", "expected"),
    [
        (0.8962, ">= 0.9 x", "NO"),  # prints as 0.90 x: the verdict tells
        (0.9, ">= 0.9 x", "yes"),
        (0.99, "<= 1.0 x", "yes"),
        (1.03, "<= 1.0 x", "NO"),
        (230.9, "<= 356 MiB", "yes"),
        (0, "0", "yes"),
        (2, "0", "NO"),
        (8.7, "<= 20 ms at 1,000,000 cases", ""),  # measured at 100,000: for the reader
        (1.12, "about 1 x", ""),
        (1, "all (1.0)", ""),
    ],
)
def test_a_goal_is_judged_only_when_it_is_a_plain_bound(
    value: float, goal: str, expected: str
) -> None:
    assert verdict({"value": value, "goal": goal}) == expected
