"""An authenticated roster (threat model 7): someone who can write to the database but holds no
keys/ cannot make themselves a reader of the next report. Intake, grants and recovery seal only
to officers whose row carries a valid MAC; the admin page flags the others; an administrator
reseals checked rows with `whistle keys reseal-roster` and the office passphrase."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.integration.test_officers_cli import whistle
from tests.integration.test_officers_login import audit_rows, login
from tests.support.cases import as_officer, file_report
from tests.support.holders import officer_ids_of
from tests.support.officers import DEFAULT_PASSWORD, logged_in, make_officer
from whistle.cases import service as cases
from whistle.crypto import (
    DecryptionError,
    associated_data,
    generate_keypair,
    private_key_is_bound,
    protect_private_key,
    unprotect_private_key,
    unseal,
)
from whistle.db.tables import AuditEntry, Officer, OfficerRole, Report, ReportKey
from whistle.errors import Conflict
from whistle.officers import admin, recovery, roster
from whistle.officers.login import GENERIC_FAILURE, KEY_MISMATCH
from whistle.officers.roles import TRIAGE, officers_with_role
from whistle.officers.service import key_binding
from whistle.reports.envelope import HOLDER_OFFICER


async def _holders(case_number: str) -> set[int]:
    report = await Report.select(Report.id).where(Report.case_number == case_number).first()
    rows = await ReportKey.select(ReportKey.holder_tag).where(
        (ReportKey.report == report["id"]) & (ReportKey.holder == HOLDER_OFFICER)
    )
    return await officer_ids_of(rows)


async def _opens_nothing(private_key: bytes, officer_ids: list[int]) -> bool:
    """The key opens no wrap of any report under any officer's associated data."""
    for wrap in await ReportKey.select(ReportKey.report, ReportKey.wrapped):
        for officer_id in officer_ids:
            aad = associated_data(str(wrap["report"]), f"key:officer:{officer_id}")
            try:
                unseal(private_key, wrap["wrapped"], aad)
            except DecryptionError:
                continue
            return False
    return True


async def test_forged_roster_rows_receive_no_report(ctx, client):
    ani = await make_officer(ctx, "ani", ["triage"])
    audi = await make_officer(ctx, "audi", ["auditor"])
    await make_officer(ctx, "root", ["admin"])
    swapped = await make_officer(ctx, "sari", ["triage"])
    assert await roster.trusted_ids([ani, audi, swapped]) == {ani, audi, swapped}

    # Three raw database writes: a triage role for the auditor, a new triage officer with the
    # attacker's key pair, and the attacker's public key in place of sari's.
    attacker_private, attacker_public = generate_keypair()
    await OfficerRole.insert(OfficerRole(officer=audi, role=TRIAGE))
    inserted = await Officer.insert(
        Officer(
            username="mallory",
            display_name="Mallory",
            active=True,
            password_hash="x",
            must_change_password=False,
            public_key=attacker_public,
            private_key_protected=b"x",
            created_at=datetime.now(UTC),
        )
    )
    mallory = inserted[0]["id"]
    await OfficerRole.insert(OfficerRole(officer=mallory, role=TRIAGE))
    await Officer.update({Officer.public_key: attacker_public}).where(Officer.id == swapped)

    number, _ = await file_report(ctx)
    assert await _holders(number) == {ani}
    assert await _opens_nothing(attacker_private, [audi, mallory, swapped, ani])
    assert {o.id for o in await officers_with_role(TRIAGE)} == {ani}

    # A grant to any of them is refused, and so is key recovery.
    officer = await as_officer(ctx, "ani")
    with pytest.raises(Conflict):
        await cases.grant_access(officer, number, str(mallory))
    with pytest.raises(Conflict):
        await recovery.recover_keys(ctx, "mallory", OFFICE_PASSPHRASE)
    assert await _holders(number) == {ani}

    # The administrator's page flags the three rows, and only them.
    await logged_in(client, ctx, "root")
    page = (await client.get("/officer/admin/officers")).text
    assert page.count("Tidak tepercaya") == 3
    flagged = {
        name
        for name in ("ani", "audi", "root", "sari", "mallory")
        if "Tidak tepercaya" in page.split(f">{name}<", 1)[1].split("</tr>", 1)[0]
    }
    assert flagged == {"audi", "sari", "mallory"}


async def test_an_admin_change_does_not_bless_a_forged_row(ctx):
    await make_officer(ctx, "root", ["admin"])
    audi = await make_officer(ctx, "audi", ["auditor"])
    await OfficerRole.insert(OfficerRole(officer=audi, role=TRIAGE))
    await admin.disable_officer(ctx, audi, actor="root")
    await admin.enable_officer(ctx, audi, actor="root")
    assert not await roster.is_trusted(audi)


async def test_legitimate_changes_keep_the_row_trusted(ctx):
    await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await admin.disable_officer(ctx, budi, actor="root")
    await admin.enable_officer(ctx, budi, actor="root")
    await admin.set_roles(ctx, budi, ["auditor"], actor="root")
    assert await roster.is_trusted(budi)
    await admin.reset_password(ctx, budi, "a temporary passphrase 2026 x", actor="root")
    assert await roster.is_trusted(budi)
    # The first own password creates the key pair: still trusted, with the new key.
    from whistle.officers.service import change_password

    await change_password(
        ctx,
        budi,
        current="a temporary passphrase 2026 x",
        new=DEFAULT_PASSWORD,
        confirm=DEFAULT_PASSWORD,
    )
    assert await roster.is_trusted(budi)

    # A content role through the two-person path, confirmed by a second administrator.
    await make_officer(ctx, "rina", ["admin"])
    assert await admin.set_roles(ctx, budi, ["triage"], actor="root") == admin.RoleChange.PENDING
    (grant,) = await admin.pending_grants(budi)
    await admin.confirm_role_grant(ctx, grant.id, actor="rina")
    assert await roster.is_trusted(budi)
    number, _ = await file_report(ctx)
    assert await _holders(number) == {budi}


async def test_reseal_roster_command_lists_reseals_and_audits(database, ctx):
    settings = database
    ani = await make_officer(ctx, "ani", ["triage"])
    sari = await make_officer(ctx, "sari", ["triage"])
    # As after the upgrade that introduced the MAC: rows without one.
    await Officer.update({Officer.roster_mac: None}).where(Officer.id == sari)

    number, _ = await file_report(ctx)
    assert await _holders(number) == {ani}

    wrong = await whistle(
        settings, "keys", "reseal-roster", "--yes", WHISTLE_OFFICE_PASSPHRASE="wrong one!!!!"
    )
    assert wrong.exit_code != 0 and "wrong one" not in wrong.output
    assert not await roster.is_trusted(sari)

    refused = await whistle(
        settings, "keys", "reseal-roster", input="n\n", WHISTLE_OFFICE_PASSPHRASE=OFFICE_PASSPHRASE
    )
    assert refused.exit_code != 0 and "sari" in refused.output and "ani" not in refused.output
    assert not await roster.is_trusted(sari)

    done = await whistle(
        settings, "keys", "reseal-roster", "--yes", WHISTLE_OFFICE_PASSPHRASE=OFFICE_PASSPHRASE
    )
    assert done.exit_code == 0, done.output
    assert "resealed 1 officer row(s): sari" in done.output
    assert await roster.is_trusted(sari)
    entry = (
        await AuditEntry.select(AuditEntry.actor, AuditEntry.details)
        .where(AuditEntry.action == "keys.roster_resealed")
        .first()
    )
    assert entry["actor"] == "cli" and json.loads(entry["details"]) == {"officers": ["sari"]}

    number, _ = await file_report(ctx)
    assert await _holders(number) == {ani, sari}


async def test_reseal_leaves_a_row_changed_since_it_was_listed(ctx):
    sari = await make_officer(ctx, "sari", ["triage"])
    await Officer.update({Officer.roster_mac: None}).where(Officer.id == sari)
    listed = await roster.untrusted_rows()
    _, attacker_public = generate_keypair()
    await Officer.update({Officer.public_key: attacker_public}).where(Officer.id == sari)
    assert await roster.reseal(ctx, OFFICE_PASSPHRASE, listed) == []
    assert not await roster.is_trusted(sari)


async def test_the_private_key_is_bound_to_the_officer_and_their_public_key(client, ctx):
    sari = await make_officer(ctx, "sari", ["triage"])
    row = await Officer.objects().where(Officer.id == sari).first()
    assert private_key_is_bound(row.private_key_protected)
    pepper = ctx.keyring.officer_pepper
    private_key = unprotect_private_key(
        row.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(sari, row.public_key),
        pepper=pepper,
    )
    # Beside another officer's id or another public key the blob does not open.
    for binding in (key_binding(sari + 1, row.public_key), key_binding(sari, bytes(32))):
        with pytest.raises(DecryptionError):
            unprotect_private_key(
                row.private_key_protected, DEFAULT_PASSWORD, binding, pepper=pepper
            )

    # A blob from before binding still opens and is bound at the next login.
    old_blob = protect_private_key(private_key, DEFAULT_PASSWORD, ctx.settings.argon2)
    await Officer.update({Officer.private_key_protected: old_blob}).where(Officer.id == sari)
    assert (await login(client, "sari")).status_code == 303
    after = await Officer.objects().where(Officer.id == sari).first()
    assert private_key_is_bound(after.private_key_protected)
    assert (
        unprotect_private_key(
            after.private_key_protected,
            DEFAULT_PASSWORD,
            key_binding(sari, row.public_key),
            pepper=pepper,
        )
        == private_key
    )


async def test_login_refuses_a_key_that_does_not_match_the_stored_public_key(client, ctx):
    sari = await make_officer(ctx, "sari", ["triage"])
    budi = await make_officer(ctx, "budi", ["triage"])
    original = await Officer.objects().where(Officer.id == sari).first()
    # Someone with database access swaps sari's public key for one they hold...
    _, attacker_public = generate_keypair()
    await Officer.update({Officer.public_key: attacker_public}).where(Officer.id == sari)
    refused = await login(client, "sari")
    assert refused.status_code == 401 and GENERIC_FAILURE in refused.text
    # ...or moves sari's blob, public key and password hash onto budi's row.
    await Officer.update(
        {
            Officer.password_hash: original.password_hash,
            Officer.public_key: original.public_key,
            Officer.private_key_protected: original.private_key_protected,
        }
    ).where(Officer.id == budi)
    client.cookies.clear()
    assert (await login(client, "budi")).status_code == 401
    # A wrong password is still just a wrong password: the mismatch is checked after it.
    client.cookies.clear()
    assert (await login(client, "sari", password="not the password at all")).status_code == 401
    failed = await audit_rows("officer.login_failed")
    assert [(row["actor"], row["details"]["reason"]) for row in failed] == [
        ("sari", KEY_MISMATCH),
        ("budi", KEY_MISMATCH),
        ("sari", "bad_credentials"),
    ]
    assert await AuditEntry.count().where(AuditEntry.action == "officer.login") == 0
