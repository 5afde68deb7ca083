"""Login throttling keyed by a keyed hash of the username, and TOTP replay protection."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login throttle and TOTP last step"


def _statements() -> list[str]:
    # Same DDL on both engines: the key is HMAC-SHA256 (hex) of the normalised username, so
    # unknown usernames are throttled exactly like known ones and no username is stored.
    return [
        """CREATE TABLE login_throttle (
            key VARCHAR(64) PRIMARY KEY NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            locked_until TIMESTAMPTZ
        )""",
        # The last accepted TOTP time step: a code is never accepted twice.
        "ALTER TABLE officer ADD COLUMN totp_last_step BIGINT",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements(),
    postgres=_statements(),
)
