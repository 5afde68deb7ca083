"""`whistle officer ...` and `whistle keys recover` through click's CliRunner, on the test's own
database (both engines). CliRunner calls asyncio.run, so it runs in a worker thread."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from click.testing import CliRunner, Result

from tests.conftest import OFFICE_PASSPHRASE, TEST_ARGON2
from tests.integration.test_officers_login import audit_rows
from tests.support.forms import submit_report_form
from tests.support.officers import make_officer, roles_of_user
from whistle.cli import main
from whistle.db import engine as db
from whistle.db.tables import Officer, ReportKey
from whistle.reports.envelope import holder_tag
from whistle.settings import Settings

PASSWORD = "a long and unusual passphrase 42"
TEMPORARY = "a temporary passphrase 2026 x"


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "WHISTLE_DATABASE_URL": settings.database_url,
        "WHISTLE_KEYS_DIR": str(settings.keys_dir),
        "WHISTLE_ARGON2_MEMORY_KIB": str(TEST_ARGON2["argon2_memory_kib"]),
        "WHISTLE_ARGON2_ITERATIONS": str(TEST_ARGON2["argon2_iterations"]),
        "WHISTLE_DEVELOPMENT": "true",  # cheap Argon2 is a development setting
        "WHISTLE_ARGON2_LANES": str(TEST_ARGON2["argon2_lanes"]),
        "WHISTLE_OFFICE_PASSPHRASE": "",
        **extra,
    }


async def whistle(settings: Settings, *args: str, input: str | None = None, **env: str) -> Result:
    """Run the command in a worker thread, then rebind the test's own engine (the command
    binds and closes one of its own)."""
    engine = db.current()
    runner = CliRunner()
    try:
        return await anyio.to_thread.run_sync(
            lambda: runner.invoke(main, list(args), input=input, env=cli_env(settings, **env))
        )
    finally:
        db.bind(engine)


async def officer(username: str) -> Officer:
    return await Officer.objects().where(Officer.username == username).first()


async def test_officer_commands_manage_accounts(database, ctx, tmp_path: Path):
    settings = database
    added = await whistle(
        settings, "officer", "add", "root", "--role", "admin", "--password-stdin", input=PASSWORD
    )
    assert added.exit_code == 0, added.output
    # A content role needs the office recovery passphrase as the second person.
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(OFFICE_PASSPHRASE + "\n")
    added = await whistle(
        settings,
        "officer",
        "add",
        "budi",
        "--role",
        "triage",
        "--name",
        "Budi",
        "--password-stdin",
        "--passphrase-file",
        str(passphrase),
        input=PASSWORD,
    )
    assert added.exit_code == 0, added.output
    listing = await whistle(settings, "officer", "list")
    assert listing.exit_code == 0
    assert "root\tadmin\tactive" in listing.output
    assert "budi\ttriage\tactive no-2fa must-change-password" in listing.output

    roles = await whistle(
        settings,
        "officer",
        "roles",
        "budi",
        "--role",
        "triage",
        "--role",
        "investigator",
        "--passphrase-file",
        str(passphrase),
    )
    assert roles.exit_code == 0, roles.output
    assert await roles_of_user("budi") == "investigator,triage"
    last_admin = await whistle(settings, "officer", "roles", "root", "--role", "auditor")
    assert last_admin.exit_code != 0
    assert "last active" in last_admin.output
    assert await roles_of_user("root") == "admin"

    disabled = await whistle(settings, "officer", "disable", "budi")
    assert disabled.exit_code == 0, disabled.output
    assert not (await officer("budi")).active
    assert (
        "budi\tinvestigator,triage\tdisabled" in (await whistle(settings, "officer", "list")).output
    )
    enabled = await whistle(settings, "officer", "enable", "budi")
    assert enabled.exit_code == 0 and (await officer("budi")).active

    before = await officer("budi")
    weak = await whistle(
        settings, "officer", "reset-password", "budi", "--password-stdin", input="short\n"
    )
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    reset = await whistle(
        settings, "officer", "reset-password", "budi", "--password-stdin", input=TEMPORARY + "\n"
    )
    assert reset.exit_code == 0, reset.output
    assert TEMPORARY not in reset.output
    after = await officer("budi")
    # Added with a temporary password, reset to another: never a key pair under either.
    assert after.password_hash != before.password_hash and after.must_change_password
    assert after.public_key == before.public_key == b""

    unknown = await whistle(settings, "officer", "disable", "nobody")
    assert unknown.exit_code != 0 and "not found" in unknown.output

    actions = [
        (entry["action"], entry["actor"])
        for name in (
            "officer.content_role_granted",
            "officer.disabled",
            "officer.enabled",
            "officer.password_reset",
        )
        for entry in await audit_rows(name)
    ]
    assert actions == [
        ("officer.content_role_granted", "cli"),
        ("officer.disabled", "cli"),
        ("officer.enabled", "cli"),
        ("officer.password_reset", "cli"),
    ]


async def test_keys_recover_command(client, settings, ctx, tmp_path: Path):
    await make_officer(ctx, "siti", ["triage"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await submit_report_form(client)
    await submit_report_form(client)
    await ReportKey.delete().where(ReportKey.holder_tag == holder_tag(budi))

    wrong = await whistle(
        settings, "keys", "recover", "--officer", "budi", WHISTLE_OFFICE_PASSPHRASE="wrong one!!!!"
    )
    assert wrong.exit_code != 0
    assert "wrong passphrase" in wrong.output and "wrong one" not in wrong.output
    assert await ReportKey.count().where(ReportKey.holder_tag == holder_tag(budi)) == 0

    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(OFFICE_PASSPHRASE + "\n")
    recovered = await whistle(
        settings, "keys", "recover", "--officer", "budi", "--passphrase-file", str(passphrase_file)
    )
    assert recovered.exit_code == 0, recovered.output
    assert "granted 2 case key(s) to budi" in recovered.output
    assert await ReportKey.count().where(ReportKey.holder_tag == holder_tag(budi)) == 2
    again = await whistle(
        settings,
        "keys",
        "recover",
        "--officer",
        "budi",
        WHISTLE_OFFICE_PASSPHRASE=OFFICE_PASSPHRASE,
    )
    assert again.exit_code == 0 and "granted 0" in again.output
