"""Officer key pairs are born under the officer's own password (threat model 7).

An account whose password an administrator chose (added on the admin page or with the CLI, or
reset) holds no key pair: a backup taken before its holder's first own password, opened with the
temporary password, yields no key that opens any report. The first own password creates the pair
(audited), and only then does intake seal new reports to the officer.
"""

from __future__ import annotations

import contextlib

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.integration.test_officers_account import post, read_report_as
from tests.integration.test_officers_cli import whistle
from tests.integration.test_officers_login import audit_rows, login
from tests.support.cases import file_report
from tests.support.officers import logged_in, make_officer
from whistle.crypto import DecryptionError, associated_data, unprotect_private_key, unseal
from whistle.db.tables import Officer, ReportKey
from whistle.errors import Conflict
from whistle.officers import admin, recovery
from whistle.officers.service import key_binding
from whistle.reports.envelope import HOLDER_OFFICER, holder_tag, key_purpose

TEMPORARY = "a temporary passphrase 2026 x"
OWN = "my very own passphrase of 2026"


async def officer_row(username: str) -> Officer:
    return await Officer.objects().where(Officer.username == username).first()


def opens_any_wrap(backup: Officer, password: str, wraps: list[dict], pepper: bytes) -> bool:
    """What a thief with this backup of the officer row and the temporary password gets."""
    try:
        private_key = unprotect_private_key(
            backup.private_key_protected,
            password,
            key_binding(backup.id, backup.public_key),
            pepper=pepper,
        )
    except (DecryptionError, ValueError):
        return False
    opened = 0
    for wrap in wraps:
        with contextlib.suppress(DecryptionError, ValueError):
            unseal(private_key, wrap["wrapped"], wrap["aad"])
            opened += 1
    return opened > 0


async def officer_wraps(officer_id: int) -> list[dict]:
    rows = await ReportKey.select(ReportKey.report, ReportKey.wrapped).where(
        (ReportKey.holder == HOLDER_OFFICER) & (ReportKey.holder_tag == holder_tag(officer_id))
    )
    return [
        {
            "wrapped": row["wrapped"],
            "aad": associated_data(str(row["report"]), key_purpose(HOLDER_OFFICER, officer_id)),
        }
        for row in rows
    ]


async def test_a_backup_from_before_the_first_own_password_yields_no_key(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await logged_in(client, ctx, "root")
    added = await post(
        client,
        "/officer/admin/officers/new",
        {"username": "budi", "display_name": "Budi", "roles": "triage", "password": TEMPORARY},
        "/officer/admin/officers/new",
    )
    assert added.status_code == 303
    # A second administrator confirms the content role (test_role_grants.py).
    await make_officer(ctx, "ani", ["admin"])
    [grant] = await admin.pending_grants()
    await admin.confirm_role_grant(ctx, grant.id, actor="ani")
    backup = await officer_row("budi")  # the database copy a thief keeps
    listing = await client.get("/officer/admin/officers")
    assert "Belum ada kunci: menunggu kata sandi pertama petugas" in listing.text

    # Intake seals nothing to an account without a key pair.
    await file_report(ctx)
    assert await officer_wraps(backup.id) == []

    client.cookies.clear()
    landed = await login(client, "budi", TEMPORARY)
    assert landed.status_code == 303 and landed.headers["location"] == "/officer/password"
    changed = await post(
        client,
        "/officer/password",
        {"current_password": TEMPORARY, "new_password": OWN, "confirm_password": OWN},
        "/officer/password",
    )
    assert changed.status_code == 303
    after = await officer_row("budi")
    assert after.public_key and after.public_key != backup.public_key
    assert [row["actor"] for row in await audit_rows("officer.keys_created")] == ["budi"]
    assert await audit_rows("officer.password_changed") == []

    # The next report is sealed to the new key pair, which the own password opens...
    await file_report(ctx)
    wraps = await officer_wraps(after.id)
    assert len(wraps) == 1
    own_key = unprotect_private_key(
        after.private_key_protected,
        OWN,
        key_binding(after.id, after.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    assert (await read_report_as(after.id, own_key))["description"]
    # ...and the backup with the temporary password opens nothing.
    assert not opens_any_wrap(backup, TEMPORARY, wraps, ctx.keyring.officer_pepper)
    assert opens_any_wrap(
        after, OWN, wraps, ctx.keyring.officer_pepper
    )  # the check itself can see an opening key
    listing_after = await client.get("/officer/account")
    assert listing_after.status_code == 200


async def test_a_reset_leaves_no_key_pair_and_grants_and_recovery_skip_the_account(ctx):
    await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await file_report(ctx)
    assert len(await officer_wraps(budi)) == 1
    await admin.reset_password(ctx, budi, TEMPORARY, actor="root")
    row = await officer_row("budi")
    assert row.public_key == b"" and row.private_key_protected == b""
    assert await officer_wraps(budi) == []
    with pytest.raises(Conflict):
        await recovery.recover_keys(ctx, "budi", OFFICE_PASSPHRASE)
    await file_report(ctx)
    assert await officer_wraps(budi) == []


async def test_the_cli_add_and_reset_leave_no_key_pair(database, ctx, tmp_path):
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(OFFICE_PASSPHRASE + "\n")
    added = await whistle(
        database,
        "officer",
        "add",
        "sari",
        "--role",
        "triage",
        "--password-stdin",
        "--passphrase-file",
        str(passphrase),
        input=TEMPORARY,
    )
    assert added.exit_code == 0, added.output
    row = await officer_row("sari")
    assert row.public_key == b"" and row.private_key_protected == b""
    assert row.must_change_password
    # The first administrator may choose their own password on the command line: keys at once.
    own = await whistle(
        database,
        "officer",
        "add",
        "root",
        "--role",
        "admin",
        "--no-must-change-password",
        "--password-stdin",
        input=OWN,
    )
    assert own.exit_code == 0, own.output
    root = await officer_row("root")
    assert unprotect_private_key(
        root.private_key_protected,
        OWN,
        key_binding(root.id, root.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    reset = await whistle(
        database, "officer", "reset-password", "root", "--password-stdin", input=TEMPORARY
    )
    assert reset.exit_code == 0, reset.output
    assert (await officer_row("root")).public_key == b""
