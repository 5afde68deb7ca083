"""The `whistle` command: init, migrate, serve, officer administration."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from whistle.context import Context
from whistle.crypto import OFFICE_PRIVATE, CryptoError, Keyring, init_keys
from whistle.db import engine as db
from whistle.db.migrations import migrate as run_migrations
from whistle.errors import DomainError, ValidationFailed
from whistle.i18n import gettext
from whistle.settings import Settings, SettingsError

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _run_with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        await db.open_database(settings)
        try:
            return await work()
        finally:
            await db.close_database()

    try:
        return asyncio.run(main())
    except ValidationFailed as failure:
        messages = "; ".join(f"{field}: {gettext(msg)}" for field, msg in failure.errors.items())
        raise click.ClickException(messages) from None
    except DomainError as failure:
        raise click.ClickException(gettext(failure.detail)) from None


def _read_secret(
    *, from_file: Path | None, from_stdin: bool, env_value: str | None, prompt: str
) -> str:
    if from_file is not None:
        return from_file.read_text().rstrip("\n")
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if env_value:
        return env_value
    if not sys.stdin.isatty():
        raise click.ClickException(f"{prompt}: give it with a flag or the environment")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} (again): ") != first:
        raise click.ClickException("the two entries differ")
    return first


@click.group()
def main() -> None:
    """Whistle: anonymous integrity reporting for the immigration office."""


@main.command()
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the office recovery passphrase (else $WHISTLE_OFFICE_PASSPHRASE or a prompt).",
)
def init(passphrase_file: Path | None) -> None:
    """Create the missing keys in the keys directory; never overwrites existing ones."""
    settings = _settings()
    try:
        Keyring.load(settings.keys_dir)
    except CryptoError:
        pass
    else:
        click.echo(f"all keys already present in {settings.keys_dir}; nothing changed")
        return
    passphrase = _read_secret(
        from_file=passphrase_file,
        from_stdin=False,
        env_value=settings.office_passphrase,
        prompt="Office recovery passphrase",
    )
    try:
        created = init_keys(settings.keys_dir, passphrase, settings.argon2)
    except (ValueError, CryptoError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created in {settings.keys_dir}: {', '.join(created)}")
    if OFFICE_PRIVATE in created:
        click.echo(
            f"Move {settings.keys_dir / OFFICE_PRIVATE} to offline storage once backed up: "
            "it is only needed by `whistle keys recover`."
        )


@main.command()
def migrate() -> None:
    """Apply the database migrations that have not run yet."""
    settings = _settings()
    applied = _run_with_db(settings, run_migrations)
    click.echo(f"applied {len(applied)} migration(s)" if applied else "database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web application (uvicorn). No access log: it would record client addresses."""
    import uvicorn

    from whistle.app import create_app

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        app = create_app(settings)
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        log_level=settings.log_level.lower(),
    )


@main.group()
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

    settings = _settings()
    password = _read_secret(
        from_file=None, from_stdin=password_stdin, env_value=None, prompt="Password"
    )
    ctx = _context(settings)

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

    _run_with_db(settings, work)
    click.echo(f"officer {username} added with role(s) {', '.join(sorted(set(roles)))}")


def _context(settings: Settings) -> Context:
    try:
        return Context.create(settings)
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
