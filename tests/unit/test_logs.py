"""Logging keeps the database drivers quiet and dates reporters' errors only to the hour."""

from __future__ import annotations

import io
import logging
import re

import pytest

from whistle.logs import QUIET_LOGGERS, configure_logging, reporter_record


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING"])
def test_drivers_and_piccolo_stay_at_warning(restore_logging, level):
    stream = io.StringIO()
    configure_logging(level, stream)
    for name in (*QUIET_LOGGERS, "aiosqlite.core", "piccolo.engine.sqlite"):
        logging.getLogger(name).debug("statement %s", "SELECT secret")
        logging.getLogger(name).info("statement %s", "SELECT secret")
    logging.getLogger("asyncpg").warning("pool trouble")
    assert "SELECT secret" not in stream.getvalue()
    assert "pool trouble" in stream.getvalue()


def test_a_reporter_record_is_dated_to_the_hour_and_others_exactly(restore_logging):
    stream = io.StringIO()
    configure_logging("INFO", stream)
    logging.getLogger("whistle.errors").error("reporter side", extra=reporter_record())
    logging.getLogger("whistle.errors").error("officer side")
    reporter_line, officer_line = stream.getvalue().splitlines()
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:00 UTC ERROR whistle.errors reporter side$", reporter_line
    )
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ERROR whistle.errors officer side$", officer_line
    )
