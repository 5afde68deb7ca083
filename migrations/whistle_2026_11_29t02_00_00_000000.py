"""A session may carry the form its officer was writing when the previous session expired
(web_session.draft, encrypted like the session's secret).

Officers waiting for access to older cases are flagged (officer.case_access_pending, set
from now on when a key pair is born or a content role given; existing officers start unflagged).

Referrals chosen from a list: report.referred_to now holds a code of
whistle.reports.statuses.REFERRAL_LABELS, and any free-text detail lives encrypted under the
report key in report.referral_detail.

Existing free text is mapped: the names the old form suggested (and their common spellings) to
their code, anything else to "other". Its words are dropped, not kept: a migration holds no
report key to encrypt them with, and plaintext is what this change removes (docs/DESIGN.md).
The audit entries of earlier referrals keep the words they were written with: the chain is
append-only."""

from whistle.db.migrations import sql_migration

ID = "2026-11-29T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referrals from a list; officers awaiting case access; drafts kept through login"

# Old free text (lower-cased, trimmed) -> code.
KNOWN_NAMES = {
    "kpk": ("kpk", "komisi pemberantasan korupsi", "komisi pemberantasan korupsi (kpk)"),
    "kepolisian": (
        "kepolisian",
        "polri",
        "polisi",
        "kepolisian ri",
        "kepolisian republik indonesia",
    ),
    "kejaksaan": ("kejaksaan", "kejaksaan ri", "kejaksaan agung", "kejaksaan negeri", "kejari"),
    "ombudsman": ("ombudsman", "ombudsman ri", "ombudsman republik indonesia"),
    "inspektorat_jenderal": (
        "inspektorat jenderal",
        "itjen",
        "inspektorat jenderal kementerian imigrasi dan pemasyarakatan",
    ),
}


def _mapping() -> str:
    cases = " ".join(
        f"WHEN LOWER(TRIM(referred_to)) IN ({', '.join(repr(name) for name in (code, *names))}) "
        f"THEN '{code}'"
        for code, names in KNOWN_NAMES.items()
    )
    # Built from the constants above only (no outside value reaches it).
    return (
        f"UPDATE report SET referred_to = CASE {cases} ELSE 'other' END "  # noqa: S608
        "WHERE referred_to IS NOT NULL"
    )


def _statements(binary: str) -> list[str]:
    return [
        f"ALTER TABLE report ADD COLUMN referral_detail {binary}",
        _mapping(),
        # Officers whose key pair or content role is newer than some cases (admin page list).
        "ALTER TABLE officer ADD COLUMN case_access_pending BOOLEAN NOT NULL DEFAULT false",
        # The text an officer was writing when their session expired, kept through re-login.
        f"ALTER TABLE web_session ADD COLUMN draft {binary}",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("BLOB"),
    postgres=_statements("BYTEA"),
)
