"""Helpers shared by the `whistle` command and the domain packages' subcommands."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from whistle.audit.service import configure_chain_key
from whistle.context import Context
from whistle.crypto import CryptoError
from whistle.db import engine as db
from whistle.db.migrations import pending_migrations
from whistle.db.outage import is_unavailable
from whistle.errors import DomainError, ValidationFailed
from whistle.i18n import translations
from whistle.officers.roster import configure_roster_key
from whistle.reports.envelope import UNTAGGED_WRAPS, configure_holder_tag_key, untagged_wraps
from whistle.settings import Settings, SettingsError

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


# The command speaks English throughout, so domain messages (Indonesian ids) are translated.
_CLI_LANGUAGE = "en"


def _english(message: str) -> str:
    return translations(_CLI_LANGUAGE).gettext(message)


def run_with_db(
    settings: Settings,
    work: Callable[[], Awaitable[T]],
    *,
    needs_migrations: bool = True,
    needs_tags: bool = True,
) -> T:
    """Run ``work`` with the database open; a common mistake becomes one sentence, no traceback.

    ``needs_migrations`` (every command but `migrate`) refuses a database that lacks migrations
    before ``work`` starts, instead of failing half-way on a missing table; ``needs_tags``
    (every command but `migrate` and `keys retag`) refuses key wraps from before holder tags,
    which the command would not find.
    """

    async def main() -> T:
        engine = await db.open_database(settings)
        try:
            if needs_migrations and (pending := await pending_migrations()):
                raise click.ClickException(
                    f"the database lacks {len(pending)} migration(s): run `whistle migrate` first"
                )
            if needs_migrations and needs_tags and (untagged := await untagged_wraps()):
                raise click.ClickException(UNTAGGED_WRAPS.format(untagged))
            return await work()
        finally:
            await db.close_database(engine)

    try:
        return asyncio.run(main())
    except ValidationFailed as failure:
        messages = "; ".join(f"{field}: {_english(msg)}" for field, msg in failure.errors.items())
        raise click.ClickException(messages) from None
    except DomainError as failure:
        raise click.ClickException(_english(failure.detail)) from None
    except Exception as error:
        if is_unavailable(error):
            raise click.ClickException(unavailable_message(settings)) from None
        raise


def unavailable_message(settings: Settings) -> str:
    """One sentence naming where the database should be, never its password."""
    where = settings.sqlite_path if settings.is_sqlite else _without_password(settings.database_url)
    return (
        f"the database at {where} cannot be reached or written: "
        "check that it runs and WHISTLE_DATABASE_URL"
    )


def _without_password(url: str) -> str:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    host = parsed.hostname or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path}"


def read_secret(
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


def context_for(settings: Settings) -> Context:
    try:
        ctx = Context.create(settings)
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
    configure_chain_key(ctx.keyring.audit_chain_key)
    configure_holder_tag_key(ctx.keyring.holder_tag_key)
    configure_roster_key(ctx.keyring.roster_mac_key)
    return ctx
