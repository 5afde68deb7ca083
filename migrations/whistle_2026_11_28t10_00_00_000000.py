"""Login lock episodes: the lock grows with each episode of the same name, not each failure."""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login lock episodes"


def _statements() -> list[str]:
    # Same DDL on both engines. ``failures`` now counts attempts reserved in the current
    # episode (reset when a lock starts); ``episodes`` counts the locks so far.
    return [
        "ALTER TABLE login_throttle ADD COLUMN episodes INTEGER NOT NULL DEFAULT 0",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements(),
    postgres=_statements(),
)
