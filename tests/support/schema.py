"""Compare a migrated database with whistle/db/tables.py and whistle/db/indexes.py.

The migrations are hand-written SQL; this reads back what they built (SQLite's PRAGMAs,
PostgreSQL's catalogs) and describes both sides in the same words, so a difference is one line
naming the table and column.
"""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import Column as PiccoloColumn

from whistle.db import engine as db
from whistle.db.indexes import NamedIndex
from whistle.db.tables import ALL_TABLES

# Piccolo's own bookkeeping table, created by the migration runner.
IGNORED_TABLES = {"migration"}


@dataclass(frozen=True)
class ColumnShape:
    type: str
    nullable: bool
    primary_key: bool
    unique: bool
    # (table, column, ON DELETE action) for a foreign key.
    references: tuple[str, str, str] | None


Schema = dict[str, dict[str, ColumnShape]]

# The declared type each piccolo column becomes on each engine. SQLite keeps the declared name,
# and piccolo's SQLite engine converts values by it (TIMESTAMPTZ, BOOLEAN, UUID), so it matters.
_SQLITE_TYPES = {
    Serial: "INTEGER",
    Integer: "INTEGER",
    Text: "TEXT",
    Boolean: "BOOLEAN",
    Bytea: "BLOB",
    UUID: "UUID",
    Timestamptz: "TIMESTAMPTZ",
}
_POSTGRES_TYPES = {
    Serial: "serial",
    Integer: "integer",
    BigInt: "bigint",
    Text: "text",
    Boolean: "boolean",
    Bytea: "bytea",
    UUID: "uuid",
    Timestamptz: "timestamp with time zone",
}


def _type_name(column: PiccoloColumn, engine: str) -> str:
    if isinstance(column, ForeignKey):
        target = column._foreign_key_meta.resolved_references._meta.primary_key
        name = _type_name(target, engine)
        return {"serial": "integer"}.get(name, name)
    if isinstance(column, Varchar):
        return f"VARCHAR({column.length})" if engine == "sqlite" else f"varchar({column.length})"
    if engine == "sqlite":
        if isinstance(column, BigInt):
            # An INTEGER PRIMARY KEY is SQLite's rowid; elsewhere the declared name is kept.
            return "INTEGER" if column._meta.primary_key else "BIGINT"
        return _SQLITE_TYPES[type(column)]
    return _POSTGRES_TYPES[type(column)]


def expected_schema(engine: str) -> Schema:
    schema: Schema = {}
    for table in ALL_TABLES:
        columns = {}
        for column in table._meta.columns:
            references = None
            if isinstance(column, ForeignKey):
                meta = column._foreign_key_meta
                target = meta.resolved_references
                references = (
                    target._meta.tablename,
                    target._meta.primary_key._meta.db_column_name,
                    meta.on_delete.value,
                )
            columns[column._meta.db_column_name] = ColumnShape(
                type=_type_name(column, engine),
                nullable=column._meta.null,
                primary_key=column._meta.primary_key,
                unique=column._meta.unique,
                references=references,
            )
        schema[table._meta.tablename] = columns
    return schema


async def actual_schema() -> Schema:
    return await (_sqlite_schema() if db.is_sqlite() else _postgres_schema())


async def _sqlite_schema() -> Schema:
    tables = await db.fetch(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    schema: Schema = {}
    for (table,) in (tuple(row.values()) for row in tables):
        if table in IGNORED_TABLES:
            continue
        unique: set[str] = set()
        for index in await db.fetch(f"PRAGMA index_list({table})"):
            if index["origin"] == "u":
                parts = await db.fetch(f"PRAGMA index_info({index['name']})")
                if len(parts) == 1:
                    unique.add(parts[0]["name"])
        references = {
            key["from"]: (key["table"], key["to"], key["on_delete"])
            for key in await db.fetch(f"PRAGMA foreign_key_list({table})")
        }
        schema[table] = {
            column["name"]: ColumnShape(
                type=column["type"],
                nullable=not column["notnull"],
                primary_key=column["pk"] > 0,
                unique=column["name"] in unique,
                references=references.get(column["name"]),
            )
            for column in await db.fetch(f"PRAGMA table_info({table})")
        }
    return schema


_PG_ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


async def _postgres_schema() -> Schema:
    columns = await db.fetch(
        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
        "column_default FROM information_schema.columns WHERE table_schema = 'public'"
    )
    constraints = await db.fetch(
        "SELECT cl.relname AS table_name, att.attname AS column_name, "
        "con.contype::text AS contype, cardinality(con.conkey) AS width, "
        "target.relname AS target_table, "
        "target_att.attname AS target_column, con.confdeltype::text AS confdeltype "
        "FROM pg_constraint con "
        "JOIN pg_class cl ON cl.oid = con.conrelid "
        "JOIN pg_namespace ns ON ns.oid = cl.relnamespace AND ns.nspname = 'public' "
        "JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey) "
        "LEFT JOIN pg_class target ON target.oid = con.confrelid "
        "LEFT JOIN pg_attribute target_att "
        "  ON target_att.attrelid = con.confrelid AND target_att.attnum = con.confkey[1] "
        "WHERE con.contype IN ('p', 'u', 'f')"
    )
    primary, unique, references = set(), set(), {}
    for row in constraints:
        key = (row["table_name"], row["column_name"])
        if row["contype"] == "p":
            primary.add(key)
        elif row["contype"] == "u" and row["width"] == 1:
            unique.add(key)
        elif row["contype"] == "f":
            references[key] = (
                row["target_table"],
                row["target_column"],
                _PG_ON_DELETE[row["confdeltype"]],
            )
    schema: Schema = {}
    for row in columns:
        if row["table_name"] in IGNORED_TABLES:
            continue
        key = (row["table_name"], row["column_name"])
        type_name = row["data_type"]
        if type_name == "character varying":
            type_name = f"varchar({row['character_maximum_length']})"
        if type_name == "integer" and str(row["column_default"] or "").startswith("nextval("):
            type_name = "serial"
        schema.setdefault(row["table_name"], {})[row["column_name"]] = ColumnShape(
            type=type_name,
            nullable=row["is_nullable"] == "YES",
            primary_key=key in primary,
            unique=key in unique,
            references=references.get(key),
        )
    return schema


async def actual_indexes() -> dict[str, NamedIndex]:
    """Indexes created by name (not those SQLite or PostgreSQL make for a key or UNIQUE)."""
    if db.is_sqlite():
        rows = await db.fetch(
            "SELECT name, tbl_name AS table_name, sql AS definition FROM sqlite_master "
            "WHERE type = 'index' AND sql IS NOT NULL"
        )
    else:
        rows = await db.fetch(
            "SELECT indexname AS name, tablename AS table_name, indexdef AS definition "
            "FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)"
        )
    return {
        row["name"]: NamedIndex(
            row["table_name"], unique=row["definition"].upper().startswith("CREATE UNIQUE")
        )
        for row in rows
        if row["table_name"] not in IGNORED_TABLES
    }


def schema_diff(expected: Schema, actual: Schema) -> list[str]:
    """One line per difference, naming the table and column; empty when they agree."""
    lines = []
    for table in sorted(expected.keys() | actual.keys()):
        if table not in actual:
            lines.append(f"{table}: in tables.py, missing from the database")
            continue
        if table not in expected:
            lines.append(f"{table}: in the database, not in tables.py")
            continue
        for column in sorted(expected[table].keys() | actual[table].keys()):
            want, have = expected[table].get(column), actual[table].get(column)
            if have is None:
                lines.append(f"{table}.{column}: in tables.py, missing from the database")
            elif want is None:
                lines.append(f"{table}.{column}: in the database, not in tables.py")
            else:
                for field in ("type", "nullable", "primary_key", "unique", "references"):
                    if getattr(want, field) != getattr(have, field):
                        lines.append(
                            f"{table}.{column}: {field} is {getattr(have, field)!r} in the "
                            f"database, {getattr(want, field)!r} in tables.py"
                        )
    return lines


def index_diff(expected: dict[str, NamedIndex], actual: dict[str, NamedIndex]) -> list[str]:
    lines = []
    for name in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(name), actual.get(name)
        if have is None:
            lines.append(f"index {name}: in whistle/db/indexes.py, missing from the database")
        elif want is None:
            lines.append(f"index {name} on {have.table}: in the database, not in indexes.py")
        elif want != have:
            lines.append(f"index {name}: {have} in the database, {want} in indexes.py")
    return lines
