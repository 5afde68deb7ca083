"""Officer roles (DESIGN.md, Who uses it)."""

from whistle.i18n import N_

ADMIN = "admin"
TRIAGE = "triage"
INVESTIGATOR = "investigator"
AUDITOR = "auditor"

ROLE_LABELS = {
    ADMIN: N_("Administrator"),
    TRIAGE: N_("Tim WBS (triase)"),
    INVESTIGATOR: N_("Investigator"),
    AUDITOR: N_("Auditor (Inspektorat)"),
}
ALL_ROLES = frozenset(ROLE_LABELS)


def parse_roles(text: str | list[str] | tuple[str, ...] | set[str]) -> list[str]:
    """Sorted, de-duplicated role names; ValueError names any unknown one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    roles = sorted({item.strip() for item in items if item.strip()})
    unknown = [role for role in roles if role not in ALL_ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown or missing role(s): {', '.join(unknown) or '(none)'}")
    return roles
