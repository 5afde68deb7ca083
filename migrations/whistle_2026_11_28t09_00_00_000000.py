"""Signed audit checkpoints (append-only like the chain) and the leases of the periodic jobs."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit checkpoints and job leases"

SQLITE = [
    """CREATE TABLE audit_checkpoint (
        seq INTEGER PRIMARY KEY NOT NULL,
        entry_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        key_fingerprint VARCHAR(71) NOT NULL,
        signature TEXT NOT NULL
    )""",
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
    """CREATE TABLE job_lease (
        name VARCHAR(64) PRIMARY KEY NOT NULL,
        holder VARCHAR(64),
        lease_until TIMESTAMPTZ,
        last_run_at TIMESTAMPTZ
    )""",
]

POSTGRES = [
    """CREATE TABLE audit_checkpoint (
        seq BIGINT PRIMARY KEY,
        entry_hash VARCHAR(64) NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        key_fingerprint VARCHAR(71) NOT NULL,
        signature TEXT NOT NULL
    )""",
    """CREATE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint
       FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TABLE job_lease (
        name VARCHAR(64) PRIMARY KEY,
        holder VARCHAR(64),
        lease_until TIMESTAMPTZ,
        last_run_at TIMESTAMPTZ
    )""",
]

forwards = sql_migration(migration_id=ID, description=DESCRIPTION, sqlite=SQLITE, postgres=POSTGRES)
