"""Initial schema: officers, reports and their key wraps, timeline, sessions, audit log."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "initial schema"

SQLITE = [
    """CREATE TABLE officer (
        id INTEGER PRIMARY KEY NOT NULL,
        username VARCHAR(64) NOT NULL UNIQUE,
        display_name VARCHAR(128) NOT NULL,
        roles VARCHAR(128) NOT NULL,
        active BOOLEAN NOT NULL DEFAULT true,
        password_hash TEXT NOT NULL,
        must_change_password BOOLEAN NOT NULL DEFAULT true,
        public_key BLOB NOT NULL,
        private_key_protected BLOB NOT NULL,
        totp_secret_sealed BLOB,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE report (
        id UUID PRIMARY KEY NOT NULL,
        case_number VARCHAR(16) NOT NULL UNIQUE,
        lookup_id VARCHAR(64) NOT NULL UNIQUE,
        category VARCHAR(32) NOT NULL,
        status VARCHAR(24) NOT NULL,
        outcome VARCHAR(32),
        referred_to VARCHAR(64),
        priority VARCHAR(8) NOT NULL DEFAULT 'normal',
        retaliation_risk BOOLEAN NOT NULL DEFAULT false,
        received_at TIMESTAMPTZ NOT NULL,
        acknowledge_due TIMESTAMPTZ NOT NULL,
        acknowledged_at TIMESTAMPTZ,
        feedback_due TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL,
        content BLOB NOT NULL
    )""",
    """CREATE TABLE report_key (
        id INTEGER PRIMARY KEY NOT NULL,
        report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
        holder VARCHAR(16) NOT NULL,
        officer INTEGER REFERENCES officer (id) ON DELETE CASCADE,
        wrapped BLOB NOT NULL
    )""",
    """CREATE TABLE status_event (
        id INTEGER PRIMARY KEY NOT NULL,
        report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
        at TIMESTAMPTZ NOT NULL,
        from_status VARCHAR(24),
        to_status VARCHAR(24) NOT NULL,
        officer INTEGER REFERENCES officer (id) ON DELETE RESTRICT,
        reason BLOB,
        public_note BLOB
    )""",
    """CREATE TABLE case_counter (
        year INTEGER PRIMARY KEY NOT NULL,
        last_number INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE web_session (
        lookup VARCHAR(64) PRIMARY KEY NOT NULL,
        kind VARCHAR(16) NOT NULL,
        officer INTEGER REFERENCES officer (id) ON DELETE CASCADE,
        secret BLOB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE audit_entry (
        seq INTEGER PRIMARY KEY NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        actor VARCHAR(80) NOT NULL,
        action VARCHAR(64) NOT NULL,
        case_number VARCHAR(16),
        details TEXT NOT NULL,
        prev_hash VARCHAR(64) NOT NULL,
        entry_hash VARCHAR(64) NOT NULL
    )""",
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
       BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END""",
]

POSTGRES = [
    """CREATE TABLE officer (
        id SERIAL PRIMARY KEY,
        username VARCHAR(64) NOT NULL UNIQUE,
        display_name VARCHAR(128) NOT NULL,
        roles VARCHAR(128) NOT NULL,
        active BOOLEAN NOT NULL DEFAULT true,
        password_hash TEXT NOT NULL,
        must_change_password BOOLEAN NOT NULL DEFAULT true,
        public_key BYTEA NOT NULL,
        private_key_protected BYTEA NOT NULL,
        totp_secret_sealed BYTEA,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE report (
        id UUID PRIMARY KEY,
        case_number VARCHAR(16) NOT NULL UNIQUE,
        lookup_id VARCHAR(64) NOT NULL UNIQUE,
        category VARCHAR(32) NOT NULL,
        status VARCHAR(24) NOT NULL,
        outcome VARCHAR(32),
        referred_to VARCHAR(64),
        priority VARCHAR(8) NOT NULL DEFAULT 'normal',
        retaliation_risk BOOLEAN NOT NULL DEFAULT false,
        received_at TIMESTAMPTZ NOT NULL,
        acknowledge_due TIMESTAMPTZ NOT NULL,
        acknowledged_at TIMESTAMPTZ,
        feedback_due TIMESTAMPTZ,
        updated_at TIMESTAMPTZ NOT NULL,
        content BYTEA NOT NULL
    )""",
    """CREATE TABLE report_key (
        id SERIAL PRIMARY KEY,
        report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
        holder VARCHAR(16) NOT NULL,
        officer INTEGER REFERENCES officer (id) ON DELETE CASCADE,
        wrapped BYTEA NOT NULL
    )""",
    """CREATE TABLE status_event (
        id SERIAL PRIMARY KEY,
        report UUID NOT NULL REFERENCES report (id) ON DELETE CASCADE,
        at TIMESTAMPTZ NOT NULL,
        from_status VARCHAR(24),
        to_status VARCHAR(24) NOT NULL,
        officer INTEGER REFERENCES officer (id) ON DELETE RESTRICT,
        reason BYTEA,
        public_note BYTEA
    )""",
    """CREATE TABLE case_counter (
        year INTEGER PRIMARY KEY,
        last_number INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE web_session (
        lookup VARCHAR(64) PRIMARY KEY,
        kind VARCHAR(16) NOT NULL,
        officer INTEGER REFERENCES officer (id) ON DELETE CASCADE,
        secret BYTEA NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE audit_entry (
        seq BIGINT PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        actor VARCHAR(80) NOT NULL,
        action VARCHAR(64) NOT NULL,
        case_number VARCHAR(16),
        details TEXT NOT NULL,
        prev_hash VARCHAR(64) NOT NULL,
        entry_hash VARCHAR(64) NOT NULL
    )""",
    """CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$""",
    """CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
]

# Both engines understand these.
COMMON = [
    # One wrap per officer per report; one reporter wrap and one office wrap per report.
    "CREATE UNIQUE INDEX report_key_officer ON report_key (officer, report) "
    "WHERE officer IS NOT NULL",
    "CREATE UNIQUE INDEX report_key_holder ON report_key (report, holder) WHERE officer IS NULL",
    "CREATE INDEX report_key_report ON report_key (report)",
    # Inbox: filtered by status/category/priority, sorted by deadline.
    "CREATE INDEX report_status_due ON report (status, acknowledge_due)",
    "CREATE INDEX report_ack_due ON report (acknowledge_due)",
    "CREATE INDEX report_feedback_due ON report (feedback_due)",
    "CREATE INDEX report_category ON report (category)",
    "CREATE INDEX report_priority ON report (priority)",
    "CREATE INDEX status_event_report ON status_event (report, id)",
    "CREATE INDEX web_session_expires ON web_session (expires_at)",
    "CREATE INDEX web_session_officer ON web_session (officer)",
    "CREATE INDEX audit_entry_case ON audit_entry (case_number, seq)",
    "CREATE INDEX audit_entry_actor ON audit_entry (actor, seq)",
    "CREATE INDEX audit_entry_action ON audit_entry (action, seq)",
    "CREATE INDEX audit_entry_at ON audit_entry (at)",
]

forwards = sql_migration(
    migration_id=ID, description=DESCRIPTION, sqlite=SQLITE + COMMON, postgres=POSTGRES + COMMON
)
