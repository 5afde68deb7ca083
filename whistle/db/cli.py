"""`whistle db ...`: database administration beyond migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from whistle.settings import Settings


@click.group()
def db() -> None:
    """Database roles and privileges (PostgreSQL)."""


@db.command()
@click.argument("app_role")
def grant(app_role: str) -> None:
    """Give APP_ROLE what the app needs and no more (run as the owner, after `whistle migrate`).

    On audit_entry and audit_checkpoint APP_ROLE gets only SELECT and INSERT.
    """
    from whistle.clitools import load_settings, run_with_db
    from whistle.db.roles import grant_app_role

    settings = load_settings()
    try:
        statements = run_with_db(settings, lambda: grant_app_role(app_role))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    for statement in statements:
        click.echo(statement)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Write a consistent copy of the database to PATH while the server runs (SQLite online
    backup; pg_dump custom format on PostgreSQL). Key files are not in it: back them up apart."""
    from whistle.clitools import load_settings
    from whistle.db.backup import backup as take_backup

    settings = load_settings()
    _translated(settings, lambda: take_backup(settings, path))
    click.echo(f"database copied to {path}; back up the keys directory separately")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(path: Path) -> None:
    """Load a copy made by `whistle backup` into an EMPTY database (a non-empty one is refused).

    On PostgreSQL run `whistle db grant APP_ROLE` afterwards: grants are not restored.
    """
    from whistle.clitools import load_settings
    from whistle.db.backup import restore as load_backup

    settings = load_settings()
    _translated(settings, lambda: load_backup(settings, path))
    click.echo(f"database restored from {path}; run `whistle migrate` to bring it up to date")


def _translated(settings: Settings, work: Callable[[], None]) -> None:
    from whistle.clitools import unavailable_message
    from whistle.db.backup import BackupError
    from whistle.db.outage import is_unavailable

    try:
        work()
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:
        if is_unavailable(error):
            raise click.ClickException(unavailable_message(settings)) from None
        raise
