"""The hand-written migrations build exactly the schema tables.py describes, on both engines,
and carry existing data through every later migration."""

from __future__ import annotations

import contextlib
import io
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.columns import Serial
from piccolo.table import Table

from tests.conftest import Templates, _base_settings
from tests.support.cases import as_officer, file_report
from tests.support.forms import VALID_REPORT
from tests.support.officers import DEFAULT_PASSWORD, make_officer, session_for
from tests.support.schema import (
    actual_indexes,
    actual_schema,
    expected_schema,
    index_diff,
    schema_diff,
)
from whistle import resources
from whistle.audit.verify import verify_chain
from whistle.cases.inbox import InboxFilter, inbox
from whistle.cases.service import add_note, apply_transition, open_case
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.indexes import INDEXES
from whistle.db.migrations import APP_NAME, migrate
from whistle.db.tables import ALL_TABLES, AuditEntry
from whistle.intake.service import reporter_view, unlock_with_code
from whistle.officers.auth import load_current_officer
from whistle.officers.login import LoginRefused, authenticate
from whistle.officers.roster import retag
from whistle.reports.envelope import holder_tag, untagged_wraps
from whistle.settings import Settings

pytestmark = pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
_blank_numbers = itertools.count(1)


@asynccontextmanager
async def blank_database(
    engine_name: str, templates: Templates, directory: Path, keys_dir: Path
) -> AsyncIterator[Settings]:
    """Settings for a database no migration has touched (dropped afterwards on PostgreSQL)."""
    if engine_name == "sqlite":
        yield _base_settings(keys_dir, f"sqlite:///{directory / 'blank.db'}")
        return
    name = f"blank_{next(_blank_numbers)}"
    admin = await asyncpg.connect(templates.postgres.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    finally:
        await admin.close()
    try:
        yield _base_settings(keys_dir, templates.postgres.url(name))
    finally:
        admin = await asyncpg.connect(templates.postgres.url("postgres"))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest.fixture
async def empty_database(
    engine_name: str, templates: Templates, tmp_path: Path, keys_dir: Path
) -> AsyncIterator[Settings]:
    """An engine bound to a database no migration has touched."""
    async with blank_database(engine_name, templates, tmp_path, keys_dir) as settings:
        engine = await db.open_database(settings)
        try:
            yield settings
        finally:
            await db.close_database(engine)


async def test_migrated_schema_matches_tables_py(
    engine_name: str, empty_database: Settings
) -> None:
    await migrate()
    differences = schema_diff(expected_schema(engine_name), await actual_schema())
    differences += index_diff(INDEXES, await actual_indexes())
    assert not differences, "migrations and tables.py disagree:\n" + "\n".join(differences)


async def test_schema_check_names_each_difference(
    engine_name: str, empty_database: Settings
) -> None:
    """The comparison itself: drift of each kind is reported by table, column or index name."""
    await migrate()
    for statement in (
        "ALTER TABLE officer ADD COLUMN stray INTEGER",
        "DROP INDEX report_inbox_due",
        "CREATE INDEX report_unlisted ON report (outcome)",
        "DROP TABLE system_setting",
    ):
        await db.current().run_ddl(statement)
    expected = expected_schema(engine_name)
    expected["report"]["status"] = replace(expected["report"]["status"], nullable=True)
    differences = schema_diff(expected, await actual_schema())
    differences += index_diff(INDEXES, await actual_indexes())
    report = "\n".join(differences)
    assert "officer.stray: in the database, not in tables.py" in report
    assert "system_setting: in tables.py, missing from the database" in report
    assert "report.status: nullable is False in the database, True in tables.py" in report
    assert "index report_inbox_due: in whistle/db/indexes.py, missing from the database" in report
    assert "index report_unlisted on report: in the database, not in indexes.py" in report
    assert len(differences) == 5, report


Saved = dict[str, list[dict[str, Any]]]

# Columns only old schemas have (dropped or moved since), and what an old installation held in
# them, worked out from the saved rows of today's tables: the migrations that drop or move them
# meet real data.
OLD_ONLY_VALUES: dict[str, dict[str, Callable[[dict[str, Any], Saved], Any]]] = {
    "officer": {
        "failed_logins": lambda officer, saved: 3,
        "locked_until": lambda officer, saved: None,
        "roles": lambda officer, saved: ",".join(
            sorted(r["role"] for r in saved["officer_role"] if r["officer"] == officer["id"])
        ),
    },
    # Before holder tags (migration 2026-11-29t01) an officer's wrap named the officer's id;
    # `whistle keys retag` moves it to the tag after the migrations.
    "report_key": {
        "officer": lambda wrap, saved: next(
            (o["id"] for o in saved["officer"] if holder_tag(o["id"]) == wrap["holder_tag"]),
            None,
        ),
    },
}
# Tables that a migration fills from older columns: not copied in, compared afterwards (ids aside).
DERIVED_TABLES: set[str] = {"officer_role"}


async def _representative_data(ctx: Context) -> dict[str, object]:
    """Officers, reports with their key wraps, a workflow step with reason and public note, a
    case note, an officer session, a failed login and the audit entries all of it wrote, made
    by today's code."""
    lead = await make_officer(ctx, "lead", ["triage"])
    backup = await make_officer(ctx, "backup", ["triage", "admin"])
    await make_officer(ctx, "inspektorat", ["auditor"])
    excluded_case, excluded_code = await file_report(
        ctx, excluded=[backup], description="Calo di depan kantor menawarkan jalur cepat."
    )
    case, code = await file_report(ctx)
    officer = await as_officer(ctx, "lead")
    await open_case(ctx, officer, case)
    await apply_transition(
        ctx, officer, case, "verify", reason="Bukti awal cukup.", public_note="Sedang diperiksa."
    )
    await add_note(officer, case, "Cek rekaman CCTV loket 3.")
    with pytest.raises(LoginRefused):
        await authenticate(ctx, "backup", "not the password at all")
    return {
        "lead": lead,
        "case": case,
        "code": code,
        "excluded_case": excluded_case,
        "excluded_code": excluded_code,
        "token": await session_for(ctx, "lead"),
    }


def _without(column: str, rows: Iterable[dict[str, Any]]) -> list[str]:
    return [repr(sorted((k, v) for k, v in row.items() if k != column)) for row in rows]


def rows_columns(table: type[Table]) -> set[str]:
    return {column._meta.db_column_name for column in table._meta.columns}


async def _copy_new_tables(rows: Saved, copied: dict[str, set[str]], migrated_to: str) -> None:
    """Insert the saved rows of every table the migrations just created, in the columns it has
    now; PostgreSQL's sequences are moved past the copied ids as a restore would."""
    present = await actual_schema()
    for table in ALL_TABLES:
        name = table._meta.tablename
        if name in copied or name not in present:
            continue
        if name in DERIVED_TABLES:
            copied[name] = set()
            continue
        old_only = OLD_ONLY_VALUES.get(name, {})
        columns = [c for c in present[name] if c not in old_only]
        missing = [c for c in columns if c not in rows_columns(table)]
        assert not missing, f"{name}.{missing} at {migrated_to}: list it in OLD_ONLY_VALUES"
        names = [*columns, *old_only]
        for row in rows[name]:
            values = [row[c] for c in columns] + [value(row, rows) for value in old_only.values()]
            await db.fetch(
                # Names from tables.py and the catalog, values as parameters.
                f"INSERT INTO {name} ({', '.join(names)}) "  # noqa: S608
                f"VALUES ({', '.join('{}' * len(names))})",
                *values,
            )
        copied[name] = set(columns)
        if not db.is_sqlite() and isinstance(table._meta.primary_key, Serial) and rows[name]:
            await db.fetch(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {name}))"
            )


async def test_data_survives_every_migration(
    engine_name: str, ctx: Context, templates: Templates, tmp_path: Path, keys_dir: Path
) -> None:
    facts = await _representative_data(ctx)
    rows = {table._meta.tablename: await table.select() for table in ALL_TABLES}
    assert all(rows[name] for name in ("officer", "report", "report_key", "status_event",
                                       "web_session", "audit_entry", "case_note",
                                       "login_throttle"))  # fmt: skip
    source_engine = db.current()
    migration_ids = sorted(
        BaseMigrationManager().get_migration_modules(str(resources.MIGRATIONS_DIR))
    )
    async with blank_database(engine_name, templates, tmp_path, keys_dir) as settings:
        engine = await db.open_database(settings)
        try:
            copied: dict[str, set[str]] = {}
            for migration_id in migration_ids:
                with contextlib.redirect_stdout(io.StringIO()):
                    result = await run_forwards(APP_NAME, migration_id=migration_id)
                assert result.success, f"{migration_id}: {result.message}"
                await _copy_new_tables(rows, copied, migration_id)
            assert copied.keys() == rows.keys()

            # Every value copied in is still there, unchanged.
            for table in ALL_TABLES:
                name = table._meta.tablename
                primary = table._meta.primary_key._meta.name
                now = {row[primary]: row for row in await table.select()}
                assert len(now) == len(rows[name]), name
                if name in DERIVED_TABLES:
                    assert sorted(_without(primary, now.values())) == sorted(
                        _without(primary, rows[name])
                    ), name
                    continue
                for row in rows[name]:
                    kept = {c: now[row[primary]][c] for c in copied[name]}
                    assert kept == {c: row[c] for c in copied[name]}, f"{name} {row[primary]}"

            # The upgrade's data step (docs/DEPLOYMENT.md): old wraps get their holder tags.
            assert await untagged_wraps() > 0
            await retag()
            assert await untagged_wraps() == 0

            # And today's code reads it: the reporter with the tracking code, the officer with
            # the session made before the migrations and with the password, the audit chain.
            migrated = Context.create(settings)
            report_id, data_key = await unlock_with_code(migrated, facts["code"])
            view = await reporter_view(migrated, report_id, data_key)
            assert view.report.description == VALID_REPORT["description"]
            assert [e.public_note for e in view.timeline] == [None, "Sedang diperiksa."]
            officer = await load_current_officer(migrated, facts["token"])
            assert officer is not None and officer.id == facts["lead"]
            case = await open_case(migrated, officer, facts["case"])
            assert case.report.description == VALID_REPORT["description"]
            assert [note.body for note in case.notes] == ["Cek rekaman CCTV loket 3."]
            other = await open_case(migrated, officer, facts["excluded_case"])
            assert other.report.description.startswith("Calo di depan kantor")
            await authenticate(migrated, "lead", DEFAULT_PASSWORD)
            page = await inbox(facts["lead"], InboxFilter(), due_soon_days=3)
            assert {row.case_number for row in page.rows} == {
                facts["case"],
                facts["excluded_case"],
            }
            verified = await verify_chain()
            assert verified.ok, verified.problem
            assert verified.entries_checked == await AuditEntry.count()
        finally:
            await db.close_database(engine)
            db.bind(source_engine)
