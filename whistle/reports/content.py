"""What a report says: its categories, how the reporter knows, and the content type that is
encrypted as the report's body. Shared by intake (which writes it, from the form and the API) and
cases (which read it). Every bound is declared here, on the type, so the OpenAPI document shows
the rules the server enforces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

import msgspec
from msgspec import Meta

from whistle.i18n import N_
from whistle.inputs import DB_INT_MAX, NO_CONTROL_PATTERN

CategoryCode = Literal[
    "pungli",
    "calo",
    "gratifikasi_suap",
    "penyalahgunaan_wewenang",
    "kode_etik_disiplin",
    "pelayanan_buruk",
    "diskriminasi",
    "lainnya",
]
CATEGORIES: dict[str, str] = {
    "pungli": N_("Pungutan liar (pungli)"),
    "calo": N_("Calo / percaloan"),
    "gratifikasi_suap": N_("Gratifikasi / suap"),
    "penyalahgunaan_wewenang": N_("Penyalahgunaan wewenang"),
    "kode_etik_disiplin": N_("Pelanggaran kode etik / disiplin"),
    "pelayanan_buruk": N_("Pelayanan buruk / maladministrasi"),
    "diskriminasi": N_("Diskriminasi"),
    "lainnya": N_("Lainnya"),
}

# "" means the reporter did not say.
HowKnownCode = Literal["", "experienced", "witnessed", "heard"]
HOW_KNOWN: dict[str, str] = {
    "experienced": N_("Saya mengalaminya sendiri"),
    "witnessed": N_("Saya melihatnya langsung"),
    "heard": N_("Saya mendengar dari orang lain"),
}
assert set(get_args(CategoryCode)) == set(CATEGORIES)
assert set(get_args(HowKnownCode)) == {"", *HOW_KNOWN}

LIMITS = {
    "description": 10_000,
    "location": 200,
    "persons_involved": 1_000,
}
MIN_DESCRIPTION = 20
MAX_AMOUNT_RUPIAH = 10_000_000_000
MAX_EXCLUDED = 20
# Dates as YYYY-MM-DD (or empty), times as HH:MM on the 24-hour clock (or empty). A time is kept
# as text, not datetime.time: OpenAPI would describe that as a duration.
DATE_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"
TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$"
# Free text: no control characters, and at least one visible character.
VISIBLE_TEXT_PATTERN = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
)

Description = Annotated[
    str,
    Meta(
        min_length=MIN_DESCRIPTION,
        max_length=LIMITS["description"],
        pattern=VISIBLE_TEXT_PATTERN,
        description="What happened, in the reporter's words.",
    ),
]
Location = Annotated[str, Meta(max_length=LIMITS["location"], pattern=NO_CONTROL_PATTERN)]
PersonsInvolved = Annotated[
    str, Meta(max_length=LIMITS["persons_involved"], pattern=NO_CONTROL_PATTERN)
]
IncidentDate = Annotated[
    str,
    Meta(
        pattern=DATE_PATTERN,
        description="YYYY-MM-DD in the office's time zone (WIB), not in the future, from 2000; "
        "empty when unknown.",
    ),
]
IncidentTime = Annotated[
    str, Meta(pattern=TIME_PATTERN, description="HH:MM (24-hour); needs incident_date.")
]
AmountRupiah = Annotated[int, Meta(ge=0, le=MAX_AMOUNT_RUPIAH)]
ExcludedOfficerId = Annotated[int, Meta(ge=1, le=DB_INT_MAX)]
ExcludedOfficers = Annotated[
    list[ExcludedOfficerId],
    Meta(
        max_length=MAX_EXCLUDED,
        description="Officer ids (from the report form's list) who must not read this report.",
    ),
]


class ReportInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A report as the reporter gives it: the body of POST /api/v1/reports, the result of the
    report form, and exactly what is encrypted as the report's content."""

    category: CategoryCode
    description: Description
    location: Location = ""
    incident_date: IncidentDate = ""
    incident_time: IncidentTime = ""
    persons_involved: PersonsInvolved = ""
    amount_requested: AmountRupiah | None = None
    how_known: HowKnownCode = ""
    excluded_officers: ExcludedOfficers = msgspec.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportInput:
        """Read stored content as it was written, without re-checking today's bounds: a report
        filed under older rules must stay readable."""
        known = {name: data[name] for name in cls.__struct_fields__ if name in data}
        return cls(**known)


REPORT_FIELDS: tuple[str, ...] = ReportInput.__struct_fields__
