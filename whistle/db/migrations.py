"""Hand-written migrations: helper for the files in migrations/ and the `whistle migrate` runner."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Awaitable, Callable

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine import engine_finder

APP_NAME = "whistle"


def sql_migration(
    *, migration_id: str, description: str, sqlite: list[str], postgres: list[str]
) -> Callable[[], Awaitable[MigrationManager]]:
    """Build a migration's ``forwards()`` that runs the statements written for the engine in use,
    one statement at a time, inside the migration's transaction."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name=APP_NAME, description=description
        )

        async def run_statements() -> None:
            engine = engine_finder()
            assert engine is not None
            for statement in sqlite if engine.engine_type == "sqlite" else postgres:
                await engine.run_ddl(statement)

        manager.add_raw(run_statements)
        return manager

    return forwards


async def migrate(*, quiet: bool = True) -> list[str]:
    """Apply every migration not yet applied; returns the ids applied now."""
    before = set(await applied_migrations())
    output = io.StringIO()
    with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
        result = await run_forwards(APP_NAME)
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    return sorted(set(await applied_migrations()) - before)


async def applied_migrations() -> list[str]:
    await Migration.create_table(if_not_exists=True).run()
    return await Migration.get_migrations_which_ran(app_name=APP_NAME)


async def pending_migrations() -> list[str]:
    """Ids of migrations in migrations/ not yet applied (start-up refuses to serve with any)."""
    from piccolo.conf.apps import Finder

    app_config = Finder().get_app_config(APP_NAME)
    modules = BaseMigrationManager().get_migration_modules(
        app_config.resolved_migrations_folder_path
    )
    return sorted(set(modules) - set(await applied_migrations()))
