"""PostgreSQL privileges of the application's role, granted by the owner role after migrating.

Two roles: the owner (runs `whistle migrate`, owns every table, trigger and function) and the app
role (runs `whistle serve` and `whistle worker`). The app role may read and write the working
tables, but on the audit log and its checkpoints it may only SELECT and INSERT: it cannot UPDATE,
DELETE or TRUNCATE them, and, not owning them, cannot drop or disable their triggers. It may only
read the migration table. Run `whistle db grant ROLE` as the owner after every migration (new
tables get their grants then).
"""

from __future__ import annotations

import re

from whistle.db import engine as db

# Append-only for the app: rows are added, never changed.
APPEND_ONLY_TABLES = ("audit_entry", "audit_checkpoint")
# Written only by `whistle migrate` (the owner).
OWNER_ONLY_TABLES = ("migration",)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_statements(app_role: str) -> list[str]:
    """The GRANT/REVOKE statements for ``app_role`` (a plain lower-case role name)."""
    if not _ROLE_NAME.fullmatch(app_role):
        raise ValueError("the app role must be a lower-case PostgreSQL name (letters, digits, _)")
    role = f'"{app_role}"'
    append_only = ", ".join(APPEND_ONLY_TABLES)
    owner_only = ", ".join(OWNER_ONLY_TABLES)
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON {owner_only} FROM {role}",
        f"REVOKE UPDATE, DELETE ON {append_only} FROM {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]


async def grant_app_role(app_role: str) -> list[str]:
    """Apply ``grant_statements`` in one transaction (PostgreSQL only); returns them."""
    if db.is_sqlite():
        raise ValueError("roles exist only on PostgreSQL; SQLite has file permissions instead")
    statements = grant_statements(app_role)
    async with db.transaction():
        for statement in statements:
            await db.fetch(statement)
    return statements
