"""The one place that configures logging, for `whistle serve` and `whistle worker`.

Two rules keep logs from dating or quoting a reporter (threat model 2):

- the database drivers and piccolo log at WARNING at most, whatever WHISTLE_LOG_LEVEL says: at
  DEBUG they would write every statement with its parameters (lookup ids, ciphertexts) and an
  exact time;
- a record marked ``coarse_time`` (errors on reporter routes, see ``reporter_record``) carries
  its time to the hour only.
"""

from __future__ import annotations

import logging
import time
from typing import IO

QUIET_LOGGERS = ("asyncpg", "aiosqlite", "sqlite3", "piccolo")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
COARSE = "coarse_time"


def reporter_record() -> dict[str, bool]:
    """``extra=`` for a log call about a reporter's request: its time is kept to the hour."""
    return {COARSE: True}


class HourFormatter(logging.Formatter):
    """Formats every record's time as usual, except ``coarse_time`` records: to the hour."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if getattr(record, COARSE, False):
            return time.strftime("%Y-%m-%d %H:00", time.gmtime(record.created)) + " UTC"
        return super().formatTime(record, datefmt)


def configure_logging(level: str, stream: IO[str] | None = None) -> None:
    """Log to stderr (or ``stream``) at ``level``, with the drivers held at WARNING."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HourFormatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
