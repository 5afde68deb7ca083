"""The case workflow as a state machine: every legal move is one declared ``Transition``.

Nothing else in Whistle decides which status may follow which, who may move a case, or what a
move must carry. ``check`` validates a requested move and raises a domain error that changes
nothing; the service applies what it returns.

| name           | from                                | to             | who              |
| -------------- | ----------------------------------- | -------------- | ---------------- |
| verify         | received                            | verification   | triage           |
| investigate    | verification                        | investigation  | triage           |
| conclude       | investigation                       | concluded      | triage, assignee |
| not_actionable | verification, investigation         | not_actionable | triage           |
| refer          | verification, investigation         | referred       | triage           |
| archive        | concluded, not_actionable, referred | archived       | triage           |
| reopen         | concluded, not_actionable, referred | verification   | triage           |

"assignee" is an investigator assigned to the case. Conclude also requires an outcome, refer
the body the case goes to (KPK, Ombudsman, police, another unit: free text, 64 characters).

Every move requires a reason (kept encrypted, shown to officers) and may carry a note the
reporter reads on /track. The investigator who did the work may record its conclusion; every
other move (and archiving any closed case, not only a concluded one) is the triage team's.
An archived case is final: it is kept for statistics and retention, not reopened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from whistle.errors import Conflict, PermissionDenied, ValidationFailed
from whistle.i18n import N_
from whistle.inputs import clean_text
from whistle.reports import statuses as st

TRIAGE = "triage"
INVESTIGATOR = "investigator"

REASON_MAX = 2000
PUBLIC_NOTE_MAX = 2000
REFERRAL_DETAIL_MAX = 500


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    # Roles admitted only on a case they are assigned to.
    assignee_roles: frozenset[str] = frozenset()
    needs_outcome: bool = False
    needs_referral: bool = False

    def admits(self, roles: Iterable[str], *, assigned: bool) -> bool:
        roles = set(roles)
        return bool(roles & self.roles) or (assigned and bool(roles & self.assignee_roles))


def _t(name: str, label: str, sources: Iterable[str], target: str, **options: Any) -> Transition:
    roles = frozenset(options.pop("roles", {TRIAGE}))
    return Transition(name, label, frozenset(sources), target, roles, **options)


CLOSED_REVIEWABLE = (st.CONCLUDED, st.NOT_ACTIONABLE, st.REFERRED)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("verify", N_("Mulai verifikasi"), [st.RECEIVED], st.VERIFICATION),
        _t("investigate", N_("Mulai investigasi"), [st.VERIFICATION], st.INVESTIGATION),
        _t(
            "conclude",
            N_("Selesaikan dengan hasil"),
            [st.INVESTIGATION],
            st.CONCLUDED,
            assignee_roles=frozenset({INVESTIGATOR}),
            needs_outcome=True,
        ),
        _t(
            "not_actionable",
            N_("Nyatakan tidak dapat ditindaklanjuti"),
            [st.VERIFICATION, st.INVESTIGATION],
            st.NOT_ACTIONABLE,
        ),
        _t(
            "refer",
            N_("Limpahkan ke pihak berwenang"),
            [st.VERIFICATION, st.INVESTIGATION],
            st.REFERRED,
            needs_referral=True,
        ),
        _t("archive", N_("Arsipkan"), CLOSED_REVIEWABLE, st.ARCHIVED),
        _t("reopen", N_("Buka kembali"), CLOSED_REVIEWABLE, st.VERIFICATION),
    )
}


@dataclass(frozen=True)
class Move:
    """A validated request to apply ``transition``: the clean values the service stores."""

    transition: Transition
    from_status: str
    reason: str
    public_note: str | None
    outcome: str | None
    # A code of st.REFERRAL_LABELS; the detail is free text, stored only encrypted.
    referred_to: str | None
    referral_detail: str | None = None


def allowed(status: str, roles: Iterable[str], *, assigned: bool) -> list[Transition]:
    """The transitions this officer may apply to a case in ``status`` (the forms to show)."""
    roles = set(roles)
    return [
        t
        for t in TRANSITIONS.values()
        if status in t.sources and t.admits(roles, assigned=assigned)
    ]


def check(
    name: str,
    status: str,
    roles: Iterable[str],
    *,
    assigned: bool,
    reason: str | None,
    public_note: str | None = None,
    outcome: str | None = None,
    referred_to: str | None = None,
    referral_detail: str | None = None,
) -> Move:
    """Validate a requested move; raise Conflict (illegal from this status), PermissionDenied
    (role) or ValidationFailed (fields), each before anything is written."""
    transition = TRANSITIONS.get(name)
    if transition is None or status not in transition.sources:
        raise Conflict(N_("Perubahan status ini tidak diizinkan dari status kasus saat ini."))
    if not transition.admits(roles, assigned=assigned):
        raise PermissionDenied(N_("Peran Anda tidak diizinkan melakukan perubahan status ini."))
    errors: dict[str, str] = {}
    reason = clean_text(reason)
    if not reason:
        errors["reason"] = N_("Tuliskan alasan perubahan status.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = N_("Alasan terlalu panjang (paling banyak 2.000 huruf).")
    note = clean_text(public_note)
    if len(note) > PUBLIC_NOTE_MAX:
        errors["public_note"] = N_("Catatan terlalu panjang (paling banyak 2.000 huruf).")
    clean_outcome = clean_text(outcome) or None
    if transition.needs_outcome and clean_outcome not in st.OUTCOME_LABELS:
        errors["outcome"] = N_("Pilih hasil penanganan.")
    clean_referral = clean_text(referred_to) or None
    detail = clean_text(referral_detail)
    if transition.needs_referral:
        if clean_referral not in st.REFERRAL_LABELS:
            errors["referred_to"] = N_("Pilih instansi yang menerima pelimpahan.")
        elif clean_referral == st.REFERRAL_OTHER and not detail:
            errors["referral_detail"] = N_("Sebutkan instansi yang menerima pelimpahan.")
        if len(detail) > REFERRAL_DETAIL_MAX:
            errors["referral_detail"] = N_("Keterangan terlalu panjang (paling banyak 500 huruf).")
    if errors:
        raise ValidationFailed(errors)
    return Move(
        transition=transition,
        from_status=status,
        reason=reason,
        public_note=note or None,
        outcome=clean_outcome if transition.needs_outcome else None,
        referred_to=clean_referral if transition.needs_referral else None,
        referral_detail=(detail or None) if transition.needs_referral else None,
    )
