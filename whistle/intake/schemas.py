"""The bodies the reporter's side accepts, and the one validator both the form and the API use.

The validator works in two steps: each field is parsed on its own against the bounds declared on
`ReportInput` (whistle/reports/content.py), then the rules that join fields are checked ("a time
needs a date", "the date is not in the future"). Every failure is a message in Bahasa Indonesia
through gettext, keyed by field, so the form shows it beside the field and the API lists it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from whistle.errors import ValidationFailed
from whistle.i18n import N_
from whistle.inputs import DB_INT_MAX, FIRST_SUPPORTED_YEAR, has_control_characters
from whistle.reports.content import (
    CATEGORIES,
    DATE_PATTERN,
    HOW_KNOWN,
    LIMITS,
    MAX_AMOUNT_RUPIAH,
    MAX_EXCLUDED,
    MIN_DESCRIPTION,
    TIME_PATTERN,
    VISIBLE_TEXT_PATTERN,
    ReportInput,
)

__all__ = [
    "CATEGORIES",
    "HOW_KNOWN",
    "LIMITS",
    "IdentityForm",
    "ReportBody",
    "ReportForm",
    "TrackForm",
    "validate_report",
]

# Wall-clock dates are the office's (WIB, UTC+7): "not in the future" means by the office's day.
OFFICE_TZ_OFFSET = timedelta(hours=7)

# Only ASCII digits, and few enough that int() is cheap (Python refuses beyond 4,300 digits).
_DIGITS = re.compile(r"^[0-9]{1,11}$")
# An amount as Indonesians write it: "Rp 1.500.000", "1.500.000,00", "Rp1.500.000,-",
# "1,5 juta", "2 jt", "500 ribu". Dots group thousands, a comma starts the decimals.
_AMOUNT = re.compile(
    r"^(?:rp\.?\s*)?"
    r"(?P<number>[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,13})"
    r"(?P<fraction>,[0-9]{1,6}|,-|\.[0-9]{1,2})?"
    r"\s*(?P<unit>ribu|rb|juta|jt|miliar|milyar)?\.?$",
    re.IGNORECASE | re.ASCII,
)
_AMOUNT_UNITS = {
    None: 1,
    "ribu": 1_000,
    "rb": 1_000,
    "juta": 1_000_000,
    "jt": 1_000_000,
    "miliar": 1_000_000_000,
    "milyar": 1_000_000_000,
}
# "500,000": a comma grouping thousands, as in English. Read the Indonesian way it would be 500.
_COMMA_GROUPS = re.compile(
    r"^(?:rp\.?\s*)?[0-9]{1,3}(?:,[0-9]{3})+\s*(?:ribu|rb|juta|jt|miliar|milyar)?\.?$",
    re.IGNORECASE | re.ASCII,
)
_MAX_AMOUNT_TEXT = 40
_DATE = re.compile(DATE_PATTERN)
_TIME = re.compile(TIME_PATTERN)
_VISIBLE = re.compile(VISIBLE_TEXT_PATTERN)

BAD_CHARACTERS = N_("Isian ini memuat karakter yang tidak diizinkan.")
BAD_OFFICER_CHOICE = N_("Pilihan petugas tidak valid.")


class ReportForm(msgspec.Struct):
    """The report form as typed: every value kept as text so a refused form comes back as it was
    sent. (Files join this body when the form becomes multipart.)"""

    category: str = ""
    description: str = ""
    location: str = ""
    incident_date: str = ""
    incident_time: str = ""
    persons_involved: str = ""
    amount_requested: str = ""
    how_known: str = ""
    # One ticked box arrives as a single value, several as a list.
    excluded_officers: list[str] | str = msgspec.field(default_factory=list)
    # The form's one-time submission token (hidden field): a resend files nothing new.
    submission_token: str = ""
    # The optional section "identity": sealed apart from the report (its own purpose).
    identity_name: str = ""
    identity_contact: str = ""

    def identity(self) -> tuple[str, str] | None:
        """Name and contact as typed, or None when the reporter stays anonymous."""
        name, contact = self.identity_name.strip(), self.identity_contact.strip()
        return (name, contact) if name or contact else None

    # Set by a language button of the page (no filing: the form comes back in that language).
    switch_language: str = ""

    def ticked_officers(self) -> list[str]:
        value = self.excluded_officers
        return [value] if isinstance(value, str) else value

    def as_typed(self) -> dict[str, Any]:
        """The values as typed, newlines normalised and surrounding spaces dropped; an empty
        amount means none (the validator reads the amount as Indonesians write it)."""
        values: dict[str, Any] = {
            name: value.replace("\r\n", "\n").strip()
            for name, value in msgspec.structs.asdict(self).items()
            if isinstance(value, str)
            and name
            not in (
                "excluded_officers",
                "submission_token",
                "identity_name",
                "identity_contact",
                "switch_language",
            )
        }
        values["amount_requested"] = values["amount_requested"] or None
        values["excluded_officers"] = self.ticked_officers()
        return values


class TrackForm(msgspec.Struct):
    """The tracking form: the code as typed (never echoed back)."""

    tracking_code: str = ""
    # The form's own signed token (the tracking form sets no CSRF cookie).
    csrf_token: str = msgspec.field(default="", name="_csrf_token")
    # Set by a language button of the page: the form comes back in that language, code kept.
    switch_language: str = ""


# Transport bounds of the status page's forms (the service says "too long" in its own words).
StatusPageText = Annotated[str, msgspec.Meta(max_length=20_000)]


class IdentityForm(msgspec.Struct):
    """The name and contact a reporter may choose to give (on the status page)."""

    name: StatusPageText = ""
    contact: StatusPageText = ""


class MessageBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/report/messages."""

    body: str


class IdentityBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/report/identity: a name, a contact, or both."""

    name: str = ""
    contact: str = ""


# The amount may come as text, written as on the form ("Rp 1.500.000", "1,5 juta"); text without
# a single ASCII digit is a wrong type.
AmountText = Annotated[str, msgspec.Meta(pattern=r"[0-9]")]


class ReportBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /api/v1/reports as received: JSON types only, so that every field's bound is checked
    by the validator and reported at once. The OpenAPI document shows `ReportInput`, whose
    bounds are the same ones."""

    category: str
    description: str
    location: str = ""
    incident_date: str = ""
    incident_time: str = ""
    persons_involved: str = ""
    # JSON Schema counts 5.0 as an integer, so an integral float is one here too.
    amount_requested: int | float | AmountText | None = None
    how_known: str = ""
    excluded_officers: list[int | float] = msgspec.field(default_factory=list)


class FieldError(Exception):
    """One field's value broke its rule; the message is a gettext id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def office_today() -> date:
    return (datetime.now(UTC) + OFFICE_TZ_OFFSET).date()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(N_("Isian ini tidak valid."))
    if has_control_characters(value):
        raise FieldError(BAD_CHARACTERS)
    return value


def _category(value: Any) -> str:
    text = _text(value) if isinstance(value, str) else ""
    if text not in CATEGORIES:
        raise FieldError(N_("Pilih jenis pelanggaran dari daftar."))
    return text


def _description(value: Any) -> str:
    text = _text(value)
    if not _VISIBLE.match(text):
        raise FieldError(N_("Ceritakan apa yang terjadi."))
    if len(text) < MIN_DESCRIPTION:
        raise FieldError(N_("Ceritakan sedikit lebih lengkap (paling sedikit 20 huruf)."))
    if len(text) > LIMITS["description"]:
        raise FieldError(N_("Cerita terlalu panjang (paling banyak 10.000 huruf)."))
    return text


def _bounded_text(name: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        if len(text) > LIMITS[name]:
            raise FieldError(N_("Isian ini terlalu panjang."))
        return text

    return parse


def _incident_date(value: Any) -> str:
    text = _text(value)
    if not text:
        return ""
    try:
        if not _DATE.match(text):
            raise ValueError
        parsed = date.fromisoformat(text)
    except ValueError:
        raise FieldError(N_("Tanggal tidak valid.")) from None
    if parsed.year < FIRST_SUPPORTED_YEAR:
        raise FieldError(N_("Tanggal tidak valid."))
    return text


def _incident_time(value: Any) -> str:
    text = _text(value)
    if not _TIME.match(text):
        raise FieldError(N_("Jam tidak valid (contoh 09:30)."))
    return text


AMOUNT_AS_NUMBER = N_("Tulis jumlah dalam angka rupiah, misalnya 500000.")
AMOUNT_AMBIGUOUS = N_(
    "Tanda koma pada jumlah ini tidak jelas: tulis titik untuk ribuan dan koma untuk desimal, "
    "misalnya 1.500.000 atau 1,5 juta."
)
AMOUNT_WITH_CENTS = N_("Tulis jumlah dalam rupiah penuh, tanpa sen.")


def parse_rupiah(text: str) -> int:
    """Read an amount as Indonesians write it ("Rp 1.500.000", "1.500.000,00", "Rp1.500.000,-",
    "1,5 juta", "2 jt", "500 ribu", "1500000") into whole rupiah.

    Raises FieldError rather than guess: "500,000" (a comma grouping thousands, English style)
    and amounts with sen are refused with their own message, never read off by a factor.
    """
    text = text.strip()
    if len(text) > _MAX_AMOUNT_TEXT:
        raise FieldError(AMOUNT_AS_NUMBER)
    if _COMMA_GROUPS.match(text):
        raise FieldError(AMOUNT_AMBIGUOUS)
    match = _AMOUNT.match(text)
    if match is None:
        raise FieldError(AMOUNT_AS_NUMBER)
    unit = match["unit"].lower() if match["unit"] else None
    fraction = match["fraction"] or ""
    if fraction == ",-":
        fraction = ""
        if unit is not None:  # "2,- juta" is no way to write anything
            raise FieldError(AMOUNT_AS_NUMBER)
    elif fraction.startswith(".") and unit is None:
        # "1.50" without a unit: not a thousands group, and dots never mark sen.
        raise FieldError(AMOUNT_AS_NUMBER)
    whole = match["number"].replace(".", "")
    amount = Decimal(f"{whole}.{fraction[1:] or '0'}") * _AMOUNT_UNITS[unit]
    if amount != amount.to_integral_value():
        raise FieldError(AMOUNT_WITH_CENTS)
    return int(amount)


def _amount(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(AMOUNT_AS_NUMBER)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str):
        amount = parse_rupiah(value)
    else:
        raise FieldError(AMOUNT_AS_NUMBER)
    if amount < 0:
        raise FieldError(AMOUNT_AS_NUMBER)
    if amount > MAX_AMOUNT_RUPIAH:
        raise FieldError(N_("Jumlah terlalu besar."))
    return amount


def _how_known(value: Any) -> str:
    text = _text(value)
    if text and text not in HOW_KNOWN:
        raise FieldError(N_("Pilih dari daftar."))
    return text


def _officer_id(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldError(BAD_OFFICER_CHOICE)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        officer_id = value
    elif isinstance(value, str) and _DIGITS.match(value):
        officer_id = int(value)
    else:
        raise FieldError(BAD_OFFICER_CHOICE)
    # Ids outside the database's integer range name nobody (and would break the queries).
    if not 1 <= officer_id <= DB_INT_MAX:
        raise FieldError(BAD_OFFICER_CHOICE)
    return officer_id


def _excluded_officers(values: Any) -> list[int]:
    if not isinstance(values, list | tuple):
        raise FieldError(BAD_OFFICER_CHOICE)
    ids = sorted({_officer_id(value) for value in values})
    if len(ids) > MAX_EXCLUDED:
        raise FieldError(N_("Terlalu banyak petugas dikecualikan."))
    return ids


FIELD_PARSERS: dict[str, Callable[[Any], Any]] = {
    "category": _category,
    "description": _description,
    "location": _bounded_text("location"),
    "incident_date": _incident_date,
    "incident_time": _incident_time,
    "persons_involved": _bounded_text("persons_involved"),
    "amount_requested": _amount,
    "how_known": _how_known,
    "excluded_officers": _excluded_officers,
}
assert set(FIELD_PARSERS) == set(ReportInput.__struct_fields__)

_DEFAULTS: dict[str, Any] = {"excluded_officers": [], "amount_requested": None}


def parse_fields(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse each field on its own; return the parsed values and a message per bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, parse in FIELD_PARSERS.items():
        try:
            values[name] = parse(raw.get(name, _DEFAULTS.get(name, "")))
        except FieldError as failure:
            errors[name] = failure.message
    return values, errors


def check_across_fields(values: Mapping[str, Any], errors: dict[str, str]) -> None:
    """Rules that join fields, checked only on fields that parsed."""
    incident_date = values.get("incident_date")
    if incident_date and date.fromisoformat(incident_date) > office_today():
        errors["incident_date"] = N_("Tanggal kejadian tidak boleh di masa depan.")
    if values.get("incident_time") and not incident_date and "incident_date" not in errors:
        errors["incident_date"] = N_("Isi tanggal jika mengisi jam.")


def validate_report(
    raw: Mapping[str, Any], *, excluded: list[str] | list[int] | None = None
) -> ReportInput:
    """Check a report from the form or the API; raise ValidationFailed naming each bad field.

    ``raw`` maps field names to what was sent; ``excluded`` (the officer ids ticked for
    exclusion), when given, takes the place of ``raw["excluded_officers"]``.
    """
    if excluded is not None:
        raw = {**raw, "excluded_officers": list(excluded)}
    values, errors = parse_fields(raw)
    check_across_fields(values, errors)
    if errors:
        raise ValidationFailed(errors)
    return ReportInput(**values)
