"""`whistle officer ...` and `whistle keys ...`: officer administration from the shell."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from whistle.clitools import context_for, load_settings, read_secret, run_with_db
from whistle.context import Context
from whistle.crypto import CryptoError
from whistle.officers.roles import ALL_ROLES


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
@click.option("--email", default=None, help="Address for alerts (none: this officer gets no mail).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first stdin line.")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the office recovery passphrase: the second person needed to give a content "
    "role (triage, investigator).",
)
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
    email: str | None,
    password_stdin: bool,
    passphrase_file: Path | None,
    must_change_password: bool,
) -> None:
    """Create an officer. A password chosen for someone else (the default) gives no key pair until
    they choose their own at first login; --no-must-change-password is for an officer typing
    their own (e.g. the first administrator): their key pair is made at once. Triage or
    investigator needs the office recovery passphrase (--passphrase-file)."""
    from whistle.officers.admin import add_officer_from_cli

    settings = load_settings()
    password = read_secret(
        from_file=None, from_stdin=password_stdin, env_value=None, prompt="Password"
    )
    passphrase = _office_passphrase(passphrase_file)
    ctx = context_for(settings)

    async def work() -> Any:
        return await add_officer_from_cli(
            ctx,
            username=username,
            password=password,
            roles=list(roles),
            display_name=display_name,
            email=email,
            must_change_password=must_change_password,
            office_passphrase=passphrase,
        )

    try:
        run_with_db(settings, work)
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"officer {username} added with role(s) {', '.join(sorted(set(roles)))}")


def _office_passphrase(passphrase_file: Path | None) -> str | None:
    """The office recovery passphrase standing as second person for a content role, if given."""
    if passphrase_file is None:
        return None
    return read_secret(from_file=passphrase_file, from_stdin=False, env_value=None, prompt="")


@click.group()
def keys() -> None:
    """Key administration (office recovery key)."""


ROLE_CHOICE = click.Choice(sorted(ALL_ROLES))


def _run_on_officer(username: str, action: Callable[[Context, int], Awaitable[Any]]) -> None:
    """Resolve ``username`` and run one administrative action with the database open."""
    from whistle.officers.service import officer_by_username

    settings = load_settings()
    ctx = context_for(settings)

    async def work() -> Any:
        row = await officer_by_username(username)
        return await action(ctx, row.id)

    run_with_db(settings, work)


@officer.command("disable")
@click.argument("username")
def officer_disable(username: str) -> None:
    """Disable an officer: sessions end, their report keys and assignments are deleted."""
    from whistle.officers.admin import disable_officer

    _run_on_officer(username, lambda ctx, oid: disable_officer(ctx, oid, actor="cli"))
    click.echo(f"officer {username} disabled; their report keys and assignments were removed")


@officer.command("enable")
@click.argument("username")
def officer_enable(username: str) -> None:
    """Enable a disabled officer (access to cases must be granted again)."""
    from whistle.officers.admin import enable_officer

    _run_on_officer(username, lambda ctx, oid: enable_officer(ctx, oid, actor="cli"))
    click.echo(f"officer {username} enabled; grant case access again (e.g. `whistle keys recover`)")


@officer.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first stdin line.")
def officer_reset_password(username: str, password_stdin: bool) -> None:
    """Set a temporary password; the officer holds no key pair until they choose their own at
    the next login (their report keys are gone: access must be granted again)."""
    from whistle.officers.admin import reset_password

    password = read_secret(
        from_file=None, from_stdin=password_stdin, env_value=None, prompt="New password"
    )
    _run_on_officer(username, lambda ctx, oid: reset_password(ctx, oid, password, actor="cli"))
    click.echo(
        f"password of {username} reset: no key pair until their own password, case access removed"
    )


@officer.command("roles")
@click.argument("username")
@click.option(
    "--role", "roles", multiple=True, required=True, type=ROLE_CHOICE, help="Repeat for several."
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the office recovery passphrase: the second person needed to give a content "
    "role (triage, investigator).",
)
def officer_roles(username: str, roles: tuple[str, ...], passphrase_file: Path | None) -> None:
    """Replace an officer's roles. Giving triage or investigator needs the office recovery
    passphrase (or a second administrator on the admin page)."""
    from whistle.officers.admin import set_roles

    passphrase = _office_passphrase(passphrase_file)
    try:
        _run_on_officer(
            username,
            lambda ctx, oid: set_roles(
                ctx, oid, list(roles), actor="cli", office_passphrase=passphrase, may_wait=False
            ),
        )
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"officer {username} now has role(s) {', '.join(sorted(set(roles)))}")


@officer.command("list")
def officer_list() -> None:
    """List officers: username, roles, state, two-factor."""
    from whistle.officers.admin import list_officers

    settings = load_settings()
    ctx = context_for(settings)
    rows = run_with_db(settings, lambda: list_officers(ctx))
    for row in rows:
        state = "active" if row.active else "disabled"
        if row.active and row.locked:
            state = "locked"
        flags = [state, "2fa" if row.totp_enabled else "no-2fa"]
        if row.must_change_password:
            flags.append("must-change-password")
        if not row.has_keys:
            flags.append("no-key-yet")
        if not row.trusted:
            flags.append("untrusted")
        click.echo(f"{row.username}\t{','.join(row.roles)}\t{' '.join(flags)}")


@keys.command("recover")
@click.option("--officer", "username", required=True, help="Officer to grant their cases to.")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the office recovery passphrase (else $WHISTLE_OFFICE_PASSPHRASE or a prompt).",
)
def keys_recover(username: str, passphrase_file: Path | None) -> None:
    """Grant an officer every open case they should hold, with the office recovery key."""
    from whistle.officers.recovery import recover_keys

    settings = load_settings()
    passphrase = read_secret(
        from_file=passphrase_file,
        from_stdin=False,
        env_value=settings.office_passphrase,
        prompt="Office recovery passphrase",
    )
    ctx = context_for(settings)
    try:
        granted = run_with_db(settings, lambda: recover_keys(ctx, username, passphrase))
    except CryptoError as error:
        # WrongPassphrase or a missing office private key: the message names files only.
        raise click.ClickException(str(error)) from None
    click.echo(f"granted {granted} case key(s) to {username}")


@keys.command("receipt-params")
def keys_receipt_params() -> None:
    """Make the configured WHISTLE_ARGON2_* the tracking-code costs of new reports.

    Codes issued earlier keep opening with the costs they were made with (and move to the new
    ones on their next look-up); start-up refuses a change not recorded this way.
    """
    from whistle.crypto import add_receipt_params

    settings = load_settings()
    try:
        version = add_receipt_params(settings.keys_dir, settings.argon2)
    except (CryptoError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"new reports use receipt parameters version {version}: {settings.argon2.encode()}")


@keys.command("retag")
def keys_retag() -> None:
    """Give key wraps written before holder tags their officer's tag (once, after upgrading):
    the web process refuses to start while any wrap still names its officer."""
    from whistle.officers.roster import retag

    settings = load_settings()
    context_for(settings)
    changed = run_with_db(settings, retag, needs_tags=False)
    click.echo(f"{changed} key wrap(s) moved to holder tags")


def _fingerprint(public_key: bytes) -> str:
    import hashlib

    if not public_key:
        return "(no key yet)"
    return hashlib.sha256(public_key).hexdigest()[:16]


@keys.command("reseal-roster")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File with the office recovery passphrase (else $WHISTLE_OFFICE_PASSPHRASE or a prompt).",
)
@click.option("--yes", is_flag=True, help="Reseal the listed rows without asking.")
def keys_reseal_roster(passphrase_file: Path | None, yes: bool) -> None:
    """List the officer rows whose MAC is missing or broken and, once you have checked each
    (username, roles, active, key fingerprint against the officer's own page), give them
    their MAC so they receive report keys again. Needs the office recovery passphrase."""
    from whistle.officers.roster import reseal, untrusted_rows

    settings = load_settings()
    ctx = context_for(settings)
    rows = run_with_db(settings, untrusted_rows)
    if not rows:
        click.echo("every officer row is trusted; nothing to reseal")
        return
    for stored in rows:
        row = stored.row
        state = "broken MAC" if stored.mac else "no MAC"
        click.echo(
            f"{row.id}\t{row.username}\troles={','.join(row.roles) or '-'}\t"
            f"{'active' if row.active else 'disabled'}\tkey={_fingerprint(row.public_key)}\t"
            f"({state})"
        )
    if not yes and not click.confirm("Checked every row above; reseal them?", default=False):
        raise click.ClickException("nothing resealed")
    passphrase = read_secret(
        from_file=passphrase_file,
        from_stdin=False,
        env_value=settings.office_passphrase,
        prompt="Office recovery passphrase",
    )
    try:
        done = run_with_db(settings, lambda: reseal(ctx, passphrase, rows))
    except CryptoError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"resealed {len(done)} officer row(s): {', '.join(done) or '-'}")
