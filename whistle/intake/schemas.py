"""What a reporter may submit, its limits, and the one validator both the form and the API use."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from whistle.errors import ValidationFailed
from whistle.i18n import N_
from whistle.reports.content import CATEGORIES, HOW_KNOWN, ReportInput

# Wall-clock dates are the office's (WIB, UTC+7): "not in the future" means by the office's day.
OFFICE_TZ_OFFSET = timedelta(hours=7)

LIMITS = {
    "description": 10_000,
    "location": 200,
    "persons_involved": 1_000,
}
MIN_DESCRIPTION = 20
MAX_AMOUNT_RUPIAH = 10_000_000_000
MAX_EXCLUDED = 20
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportSubmission(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /api/v1/reports (the mobile app's form)."""

    category: str
    description: str
    location: str = ""
    incident_date: str = ""
    incident_time: str = ""
    persons_involved: str = ""
    amount_requested: int | None = None
    how_known: str = ""
    excluded_officers: list[int] = msgspec.field(default_factory=list)


def office_today() -> date:
    return (datetime.now(UTC) + OFFICE_TZ_OFFSET).date()


def _clean(value: Any) -> str:
    text = "" if value is None else str(value)
    # Normalise newlines and drop control characters that have no place in a report.
    return _CONTROL.sub("", text.replace("\r\n", "\n")).strip()


def validate_report(
    raw: Mapping[str, Any], *, excluded: Sequence[str] | Sequence[int] = ()
) -> ReportInput:
    """Check every field against its rules; raise ValidationFailed naming each bad field.

    ``raw`` is the form or JSON body; ``excluded`` the officer ids ticked for exclusion.
    """
    errors: dict[str, str] = {}
    category = _clean(raw.get("category"))
    if category not in CATEGORIES:
        errors["category"] = N_("Pilih jenis pelanggaran dari daftar.")

    description = _clean(raw.get("description"))
    if not description:
        errors["description"] = N_("Ceritakan apa yang terjadi.")
    elif len(description) < MIN_DESCRIPTION:
        errors["description"] = N_("Ceritakan sedikit lebih lengkap (paling sedikit 20 huruf).")
    elif len(description) > LIMITS["description"]:
        errors["description"] = N_("Cerita terlalu panjang (paling banyak 10.000 huruf).")

    texts = {}
    for name in ("location", "persons_involved"):
        texts[name] = _clean(raw.get(name))
        if len(texts[name]) > LIMITS[name]:
            errors[name] = N_("Isian ini terlalu panjang.")

    incident_date = _clean(raw.get("incident_date"))
    if incident_date:
        try:
            parsed = date.fromisoformat(incident_date)
        except ValueError:
            errors["incident_date"] = N_("Tanggal tidak valid.")
        else:
            if parsed > office_today():
                errors["incident_date"] = N_("Tanggal kejadian tidak boleh di masa depan.")
            elif parsed.year < 2000:
                errors["incident_date"] = N_("Tanggal tidak valid.")
    incident_time = _clean(raw.get("incident_time"))
    if incident_time and not _TIME.match(incident_time):
        errors["incident_time"] = N_("Jam tidak valid (contoh 09:30).")
    if incident_time and not incident_date and "incident_date" not in errors:
        errors["incident_date"] = N_("Isi tanggal jika mengisi jam.")

    amount: int | None = None
    raw_amount = raw.get("amount_requested")
    if raw_amount not in (None, ""):
        text = str(raw_amount).replace(".", "").replace(",", "").replace("Rp", "").strip()
        if isinstance(raw_amount, bool) or not text.isdigit():
            errors["amount_requested"] = N_("Tulis jumlah dalam angka rupiah, misalnya 500000.")
        else:
            amount = int(text)
            if amount > MAX_AMOUNT_RUPIAH:
                errors["amount_requested"] = N_("Jumlah terlalu besar.")

    how_known = _clean(raw.get("how_known"))
    if how_known and how_known not in HOW_KNOWN:
        errors["how_known"] = N_("Pilih dari daftar.")

    excluded_ids: list[int] = []
    for value in excluded:
        if isinstance(value, bool) or not str(value).isdigit():
            errors["excluded_officers"] = N_("Pilihan petugas tidak valid.")
            break
        excluded_ids.append(int(value))
    if len(set(excluded_ids)) > MAX_EXCLUDED:
        errors["excluded_officers"] = N_("Terlalu banyak petugas dikecualikan.")

    if errors:
        raise ValidationFailed(errors)
    return ReportInput(
        category=category,
        description=description,
        location=texts["location"],
        incident_date=incident_date,
        incident_time=incident_time,
        persons_involved=texts["persons_involved"],
        amount_requested=amount,
        how_known=how_known,
        excluded_officers=sorted(set(excluded_ids)),
    )
