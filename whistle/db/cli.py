"""`whistle db ...`: database administration beyond migrations."""

from __future__ import annotations

import click


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
