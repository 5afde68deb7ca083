"""Every audit action name, in one registry: ``append`` refuses any other.

Add the constant here when adding an action, then call ``audit.append(actions.X, ...)``. The
audit test enumerates this list and checks that each action leaves exactly one entry.
"""

# ruff: noqa: S105 - action names, not secrets

# Reporter side (recorded without anything that identifies the reporter; time to the hour).
REPORT_RECEIVED = "report.received"
# A reporter's message, and an identity the reporter chose to give, published by the release.
MESSAGE_RECEIVED = "message.received"
IDENTITY_GIVEN = "identity.given"

# Officer accounts and sessions.
LOGIN = "officer.login"
LOGIN_FAILED = "officer.login_failed"
LOGOUT = "officer.logout"
PASSWORD_CHANGED = "officer.password_changed"
# The first own password of an account whose password an administrator chose: its key pair.
OFFICER_KEYS_CREATED = "officer.keys_created"
TOTP_ENABLED = "officer.totp_enabled"
TOTP_DISABLED = "officer.totp_disabled"
RECOVERY_CODES_REGENERATED = "officer.recovery_codes_regenerated"
OFFICER_ADDED = "officer.added"
OFFICER_DISABLED = "officer.disabled"
OFFICER_ENABLED = "officer.enabled"
OFFICER_UNLOCKED = "officer.unlocked"
OFFICER_PASSWORD_RESET = "officer.password_reset"
OFFICER_ROLES_CHANGED = "officer.roles_changed"
# Where an officer's alerts are mailed (the address itself is not logged).
OFFICER_EMAIL_CHANGED = "officer.email_changed"
# Content roles (triage, investigator) need a second person: asked, then granted or rejected.
ROLE_GRANT_REQUESTED = "officer.role_grant_requested"
CONTENT_ROLE_GRANTED = "officer.content_role_granted"
ROLE_GRANT_REJECTED = "officer.role_grant_rejected"
SETTING_CHANGED = "settings.changed"
KEYS_RECOVERED = "keys.recovered"
# Roster rows checked by an administrator and given their MAC (whistle keys reseal-roster).
ROSTER_RESEALED = "keys.roster_resealed"
# Old key wraps moved from officer ids to holder tags (whistle keys retag).
KEYS_RETAGGED = "keys.retagged"

# Cases.
CASE_OPENED = "case.opened"
CASE_STATUS_CHANGED = "case.status_changed"
CASE_TRIAGED = "case.triaged"
CASE_ASSIGNED = "case.assigned"
CASE_UNASSIGNED = "case.unassigned"
CASE_ACCESS_GRANTED = "case.access_granted"
CASE_ACCESS_REVOKED = "case.access_revoked"
CASE_RECUSED = "case.recused"
CASE_NOTE_ADDED = "case.note_added"
# Retention: a legal hold set or lifted by triage; a case's content destroyed by the purge.
CASE_HOLD_SET = "case.hold_set"
CASE_HOLD_LIFTED = "case.hold_lifted"
CASE_PURGED = "case.purged"
# A message to the reporter (its text never in the audit).
MESSAGE_SENT = "message.sent"
# Revealing the reporter's identity: asked with a reason (kept encrypted, never in the audit),
# then approved or rejected by a different triage officer.
IDENTITY_REVEAL_REQUESTED = "identity.reveal_requested"
IDENTITY_REVEAL_APPROVED = "identity.reveal_approved"
IDENTITY_REVEAL_REJECTED = "identity.reveal_rejected"
# Evidence files: an officer's own file added, every download, and a download refused because
# the stored file was damaged or altered (details: the file id and kind, never its name).
EVIDENCE_ADDED = "evidence.added"
EVIDENCE_DOWNLOADED = "evidence.downloaded"
EVIDENCE_DOWNLOAD_FAILED = "evidence.download_failed"

# The audit log itself.
AUDIT_EXPORTED = "audit.exported"
AUDIT_CHECKPOINT = "audit.checkpoint"

ALL_ACTIONS = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
