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
from whistle.errors import DomainError, ValidationFailed
from whistle.i18n import gettext
from whistle.settings import Settings, SettingsError

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def run_with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = await db.open_database(settings)
        try:
            return await work()
        finally:
            await db.close_database(engine)

    try:
        return asyncio.run(main())
    except ValidationFailed as failure:
        messages = "; ".join(f"{field}: {gettext(msg)}" for field, msg in failure.errors.items())
        raise click.ClickException(messages) from None
    except DomainError as failure:
        raise click.ClickException(gettext(failure.detail)) from None


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
    return ctx
