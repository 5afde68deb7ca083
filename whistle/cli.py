"""The `whistle` command: init, migrate, serve, officer administration."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from whistle.clitools import load_settings, read_secret, run_with_db
from whistle.crypto import OFFICE_PRIVATE, CryptoError, Keyring, init_keys
from whistle.db.migrations import migrate as run_migrations
from whistle.logs import configure_logging


@click.group()
def main() -> None:
    """Whistle: anonymous integrity reporting for the immigration office."""
    # piccolo warns with a coloured multi-line message when it cannot reach PostgreSQL while
    # building an engine; the command says so itself, in one sentence.
    warnings.filterwarnings("ignore", message=r".*Unable to connect to database")


@main.command()
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the office recovery passphrase (else $WHISTLE_OFFICE_PASSPHRASE or a prompt).",
)
def init(passphrase_file: Path | None) -> None:
    """Create the missing keys in the keys directory; never overwrites existing ones."""
    settings = load_settings()
    try:
        Keyring.load(settings.keys_dir)
    except CryptoError:
        pass
    else:
        click.echo(f"all keys already present in {settings.keys_dir}; nothing changed")
        return
    passphrase = read_secret(
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
    settings = load_settings()
    applied = run_with_db(settings, run_migrations, needs_migrations=False)
    click.echo(f"applied {len(applied)} migration(s)" if applied else "database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web application (uvicorn). No access log: it would record client addresses."""
    import uvicorn

    from whistle.app import create_app
    from whistle.clitools import context_for

    settings = load_settings()
    # Say "no keys", "not migrated" or "unreachable" in one sentence before any logging starts,
    # not inside a start-up traceback.
    context_for(settings)
    run_with_db(settings, _nothing)
    configure_logging(settings.log_level)
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


async def _nothing() -> None:
    return None


@main.command()
@click.option("--once", is_flag=True, help="Run the due jobs once and exit (for cron or tests).")
def worker(once: bool) -> None:
    """Run the periodic jobs (signed audit checkpoints, ...) beside `whistle serve`.

    Several workers may share one database: a lease in the database runs each job once. This is
    the only long-running process that reads the audit signing key.
    """
    import asyncio

    from whistle.app import worker_jobs
    from whistle.clitools import context_for
    from whistle.jobs import run_worker

    settings = load_settings()
    ctx = context_for(settings)
    try:
        ctx.keyring.audit_signing_key  # noqa: B018 - refuse to start without a usable signing key
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
    run_with_db(settings, _nothing)  # one sentence for "not migrated" before logging starts
    configure_logging(settings.log_level)
    work = lambda: run_worker(  # noqa: E731
        ctx, worker_jobs(), tick_seconds=settings.worker_tick_seconds, once=once
    )
    try:
        run_with_db(settings, work)
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo("worker stopped", err=True)


def _register_domain_commands() -> None:
    # Each domain package owns its commands; they import helpers from this module lazily.
    from whistle.audit.cli import audit
    from whistle.cases.cli import purge
    from whistle.db.cli import backup, db, restore
    from whistle.officers.cli import keys, officer

    main.add_command(officer)
    main.add_command(keys)
    main.add_command(audit)
    main.add_command(db)
    main.add_command(backup)
    main.add_command(restore)
    main.add_command(purge)


_register_domain_commands()


if __name__ == "__main__":
    main()
