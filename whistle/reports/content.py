"""What a report says: its categories, how the reporter knows, and the content type that is
encrypted as the report's body. Shared by intake (which writes it) and cases (which read it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from whistle.i18n import N_

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

HOW_KNOWN: dict[str, str] = {
    "experienced": N_("Saya mengalaminya sendiri"),
    "witnessed": N_("Saya melihatnya langsung"),
    "heard": N_("Saya mendengar dari orang lain"),
}


@dataclass(frozen=True)
class ReportInput:
    """A validated report, exactly what is encrypted as the report's content."""

    category: str
    description: str
    location: str = ""
    incident_date: str = ""
    incident_time: str = ""
    persons_involved: str = ""
    amount_requested: int | None = None
    how_known: str = ""
    excluded_officers: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportInput:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)
