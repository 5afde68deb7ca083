"""`whistle officer ...` and `whistle keys ...`: officer administration from the shell."""

from __future__ import annotations

from typing import Any

import click

from whistle.clitools import context_for, load_settings, read_secret, run_with_db


@click.group()
def officer() -> None:
    """Manage officer accounts."""


@officer.command("add")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["admin", "triage", "investigator", "auditor"]),
    help="Role to grant (repeat for several).",
)
@click.option("--name", "display_name", default=None, help="Name shown to colleagues.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first stdin line.")
@click.option(
    "--must-change-password/--no-must-change-password",
    default=True,
    show_default=True,
    help="Ask the officer to choose a new password at first login.",
)
def officer_add(
    username: str,
    roles: tuple[str, ...],
    display_name: str | None,
    password_stdin: bool,
    must_change_password: bool,
) -> None:
    """Create an officer with a key pair protected by their password."""
    from whistle.officers.service import add_officer

    settings = load_settings()
    password = read_secret(
        from_file=None, from_stdin=password_stdin, env_value=None, prompt="Password"
    )
    ctx = context_for(settings)

    async def work() -> Any:
        return await add_officer(
            ctx,
            username=username,
            password=password,
            roles=list(roles),
            display_name=display_name,
            actor="cli",
            must_change_password=must_change_password,
        )

    run_with_db(settings, work)
    click.echo(f"officer {username} added with role(s) {', '.join(sorted(set(roles)))}")


@click.group()
def keys() -> None:
    """Key administration (office recovery key)."""
