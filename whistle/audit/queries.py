"""Reading the audit log: filters, keyset pages (newest first) and the CSV export.

The HTML viewer and the CSV export share these functions. Pages and export batches use keyset
pagination on ``seq``, so page 1,000 costs what page 1 costs and an export never holds more than
one batch in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from whistle.audit import actions
from whistle.audit.actions import ALL_ACTIONS
from whistle.audit.service import (
    MAX_ACTOR_CHARS,
    MAX_CASE_NUMBER_CHARS,
    AuditRecord,
    append,
    canonical_json,
    record_from_row,
)
from whistle.clock import WIB_OFFSET
from whistle.db import engine as db
from whistle.db.tables import AuditEntry
from whistle.errors import ValidationFailed
from whistle.i18n import N_
from whistle.inputs import has_control_characters, is_supported_date

PAGE_SIZE = 100
EXPORT_BATCH = 5000
# The query parameters of the filter form, also used by the export link.
FILTER_FIELDS = ("actor", "action", "case", "date_from", "date_to")

_COLUMNS = "seq, at, actor, action, case_number, details, prev_hash, entry_hash"


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    case_number: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    def as_details(self) -> dict[str, str]:
        """The filters that are set, for the export's own audit entry."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "case_number": self.case_number,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    def query(self) -> dict[str, str]:
        """The filters as the form's query parameters (for page and export links)."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "case": self.case_number,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }
        return {key: value for key, value in values.items() if value is not None}


def _parse_date(text: str) -> date | None:
    """An ISO date, or None."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_filter(raw: Mapping[str, str]) -> AuditFilter:
    """Read the filter form; ValidationFailed names each field that is wrong."""
    values = {name: str(raw.get(name) or "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    if len(values["actor"]) > MAX_ACTOR_CHARS:
        errors["actor"] = N_("Nama pelaku terlalu panjang.")
    elif has_control_characters(values["actor"]):
        errors["actor"] = N_("Isian memuat karakter kendali yang tidak diizinkan.")
    if values["action"] and values["action"] not in ALL_ACTIONS:
        errors["action"] = N_("Pilih tindakan dari daftar.")
    if len(values["case"]) > MAX_CASE_NUMBER_CHARS:
        errors["case"] = N_("Nomor kasus terlalu panjang.")
    elif has_control_characters(values["case"]):
        errors["case"] = N_("Isian memuat karakter kendali yang tidak diizinkan.")
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        dates[name] = _parse_date(values[name]) if values[name] else None
        if values[name] and dates[name] is None:
            errors[name] = N_("Tanggal tidak valid (format TTTT-BB-HH).")
        elif (found := dates[name]) and not is_supported_date(found):
            # Far dates overflow the day arithmetic (the WIB day's bounds reach past them).
            errors[name] = N_("Tanggal tidak valid: pilih antara tahun 2000 dan 2100.")
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        errors["date_to"] = N_("Tanggal akhir tidak boleh sebelum tanggal awal.")
    if errors:
        raise ValidationFailed(errors)
    return AuditFilter(
        actor=values["actor"] or None,
        action=values["action"] or None,
        case_number=values["case"] or None,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
    )


def _start_of_wib_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC) - WIB_OFFSET


def _where(audit_filter: AuditFilter, *extra: tuple[str, Any]) -> tuple[str, list[Any]]:
    conditions: list[tuple[str, Any]] = []
    if audit_filter.actor:
        conditions.append(("actor = {}", audit_filter.actor))
    if audit_filter.action:
        conditions.append(("action = {}", audit_filter.action))
    if audit_filter.case_number:
        conditions.append(("case_number = {}", audit_filter.case_number))
    if audit_filter.date_from:
        conditions.append(("at >= {}", _start_of_wib_day(audit_filter.date_from)))
    if audit_filter.date_to:
        end = _start_of_wib_day(audit_filter.date_to + timedelta(days=1))
        conditions.append(("at < {}", end))
    conditions.extend(extra)
    if not conditions:
        return "", []
    return " WHERE " + " AND ".join(sql for sql, _ in conditions), [arg for _, arg in conditions]


async def _select(
    audit_filter: AuditFilter, *extra: tuple[str, Any], newest_first: bool, limit: int
) -> list[AuditRecord]:
    where, args = _where(audit_filter, *extra)
    order = "DESC" if newest_first else "ASC"
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM audit_entry{where} ORDER BY seq {order} LIMIT {{}}",  # noqa: S608 - fixed fragments; values are placeholders
        *args,
        limit,
    )
    return [record_from_row(row) for row in rows]


async def _exists(audit_filter: AuditFilter, condition: tuple[str, Any]) -> bool:
    where, args = _where(audit_filter, condition)
    rows = await db.fetch(f"SELECT 1 AS found FROM audit_entry{where} LIMIT 1", *args)  # noqa: S608
    return bool(rows)


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]  # newest first
    older: int | None  # ``before`` cursor of the next (older) page, if there is one
    newer: int | None  # ``after`` cursor of the previous (newer) page, if there is one


async def search(
    audit_filter: AuditFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """One page of matching entries, newest first: the newest page, or the page just older than
    seq ``before``, or the page just newer than seq ``after``."""
    if after is not None:
        records = await _select(audit_filter, ("seq > {}", after), newest_first=False, limit=limit)
        records.reverse()
    else:
        extra = [("seq < {}", before)] if before is not None else []
        records = await _select(audit_filter, *extra, newest_first=True, limit=limit)
    if not records:
        return AuditPage([], None, None)
    newest, oldest = records[0].seq, records[-1].seq
    has_older = await _exists(audit_filter, ("seq < {}", oldest))
    has_newer = await _exists(audit_filter, ("seq > {}", newest))
    return AuditPage(records, oldest if has_older else None, newest if has_newer else None)


async def iter_entries(
    audit_filter: AuditFilter, *, up_to_seq: int, batch_size: int = EXPORT_BATCH
) -> AsyncIterator[AuditRecord]:
    """Every matching entry with seq <= ``up_to_seq``, oldest first, one batch at a time."""
    cursor = -(2**62)
    while True:
        batch = await _select(
            audit_filter,
            ("seq > {}", cursor),
            ("seq <= {}", up_to_seq),
            newest_first=False,
            limit=batch_size,
        )
        for record in batch:
            yield record
        if len(batch) < batch_size:
            return
        cursor = batch[-1].seq


CSV_HEADER = (
    "seq",
    "at_utc",
    "actor",
    "action",
    "case_number",
    "details",
    "prev_hash",
    "entry_hash",
)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _csv_line(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_safe(value) for value in values])
    return buffer.getvalue().encode()


async def export_head() -> int:
    """The last seq an export begun now covers (0 for an empty log): the file is the same
    whenever it is downloaded, whatever is appended while it streams."""
    head = await AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq, ascending=False).first()
    return head["seq"] if head else 0


async def export_csv(
    audit_filter: AuditFilter, *, up_to_seq: int, actor: str
) -> AsyncIterator[bytes]:
    """The matching entries up to ``up_to_seq`` as CSV (oldest first), in batches; times are
    exact UTC so the rows of an unfiltered export can be re-hashed offline.

    The export records itself (AUDIT_EXPORTED, with its filters) only once every row has been
    read, and holds back its last line until then: an export that fails is not recorded as
    done, and no complete file leaves without its entry. Validate the filter first
    (``parse_filter``): once the stream has begun, an error can only cut the connection.
    """
    pending = _csv_line(list(CSV_HEADER))
    async for record in iter_entries(audit_filter, up_to_seq=up_to_seq):
        yield pending
        pending = _csv_line(
            [
                record.seq,
                record.at.astimezone(UTC).isoformat(),
                record.actor,
                record.action,
                record.case_number,
                canonical_json(record.details),
                record.prev_hash,
                record.entry_hash,
            ]
        )
    async with db.transaction():
        await append(
            actions.AUDIT_EXPORTED, actor=actor, details={"filters": audit_filter.as_details()}
        )
    yield pending
