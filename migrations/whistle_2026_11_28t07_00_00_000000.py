"""Officer roles in their own table, so that "officers with role X" is a query, not a string split.

officer_role holds one row per (officer, role); the existing comma-separated officer.roles are
copied over role by role (the four role names are known, so plain SQL does it on both engines)
and the column is dropped. An id column and a unique index (rather than a composite primary key)
keep the table expressible as a piccolo Table, like case_assignment.
"""

from whistle.db.migrations import sql_migration

ID = "2026-11-28T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "officer roles table"

ROLES = ("admin", "auditor", "investigator", "triage")


def _statements(serial: str) -> list[str]:
    role_list = ", ".join(f"'{role}'" for role in ROLES)
    return [
        f"""CREATE TABLE officer_role (
            id {serial},
            officer INTEGER NOT NULL REFERENCES officer (id) ON DELETE CASCADE,
            role VARCHAR(16) NOT NULL CHECK (role IN ({role_list}))
        )""",
        "CREATE UNIQUE INDEX officer_role_unique ON officer_role (officer, role)",
        "CREATE INDEX officer_role_role ON officer_role (role, officer)",
        *(
            # The role names are the constants above, never input.
            "INSERT INTO officer_role (officer, role) "  # noqa: S608
            f"SELECT id, '{role}' FROM officer WHERE ',' || roles || ',' LIKE '%,{role},%'"
            for role in ROLES
        ),
        "ALTER TABLE officer DROP COLUMN roles",
    ]


forwards = sql_migration(
    migration_id=ID,
    description=DESCRIPTION,
    sqlite=_statements("INTEGER PRIMARY KEY NOT NULL"),
    postgres=_statements("SERIAL PRIMARY KEY"),
)
