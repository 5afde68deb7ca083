"""Officer password hashes and key blobs are derived with an Argon2 pepper from keys/: a
database copy alone cannot check a password guess, and accounts from before the pepper keep
working and are upgraded at their next login."""

from __future__ import annotations

import pytest

from tests.integration.test_officers_login import login
from tests.support.cases import as_officer, file_report
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.cases import service as cases
from whistle.crypto import (
    DecryptionError,
    hash_password,
    private_key_is_bound,
    private_key_is_current,
    private_key_is_peppered,
    protect_private_key,
    public_key_from_private,
    unprotect_private_key,
    verify_password,
)
from whistle.db.tables import Officer
from whistle.officers.service import key_binding


async def _row(username: str) -> Officer:
    return await Officer.objects().where(Officer.username == username).first()


async def test_a_copied_hash_does_not_verify_the_right_password_without_the_pepper(ctx):
    await make_officer(ctx, "siti", ["triage"])
    row = await _row("siti")
    pepper = ctx.keyring.officer_pepper
    binding = key_binding(row.id, row.public_key)
    assert verify_password(DEFAULT_PASSWORD, row.password_hash, pepper=pepper)
    # What a thief holds: the right password, the hash and the blob, but not keys/.
    assert not verify_password(DEFAULT_PASSWORD, row.password_hash)
    relabelled = "argon2id$" + row.password_hash.split("$", 1)[1]
    assert not verify_password(DEFAULT_PASSWORD, relabelled)
    with pytest.raises(DecryptionError):
        unprotect_private_key(row.private_key_protected, DEFAULT_PASSWORD, binding)
    # Relabelled as a layout without the pepper (the original, or bound only) it opens neither.
    for layout in (b"\x01", b"\x02"):
        with pytest.raises(DecryptionError):
            unprotect_private_key(layout + row.private_key_protected[1:], DEFAULT_PASSWORD, binding)
    with pytest.raises(DecryptionError):
        unprotect_private_key(
            row.private_key_protected, DEFAULT_PASSWORD, binding, pepper=b"x" * 32
        )
    private_key = unprotect_private_key(
        row.private_key_protected, DEFAULT_PASSWORD, binding, pepper=pepper
    )
    assert public_key_from_private(private_key) == row.public_key


async def test_an_officer_from_before_the_pepper_logs_in_and_is_upgraded(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    number, _ = await file_report(ctx)  # sealed to Siti's key pair
    row = await _row("siti")
    private_key = unprotect_private_key(
        row.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(row.id, row.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    # The same key pair stored as it was before the pepper existed.
    params = ctx.settings.argon2
    await Officer.update(
        {
            Officer.password_hash: hash_password(DEFAULT_PASSWORD, params),
            Officer.private_key_protected: protect_private_key(
                private_key, DEFAULT_PASSWORD, params
            ),
        }
    ).where(Officer.id == row.id)
    old = await _row("siti")
    assert old.password_hash.startswith("argon2id$") and old.private_key_protected[:1] == b"\x01"

    landed = await login(client, "siti")
    assert landed.status_code == 303, landed.text
    assert (await client.get(f"/officer/cases/{number}")).status_code == 200

    upgraded = await _row("siti")
    assert upgraded.password_hash.startswith("argon2id+pepper1$")
    # The newest layout: peppered AND bound to the officer and their public key.
    assert upgraded.private_key_protected[:1] == b"\x04"
    assert private_key_is_peppered(upgraded.private_key_protected)
    assert private_key_is_bound(upgraded.private_key_protected)
    assert upgraded.public_key == row.public_key
    assert not verify_password(DEFAULT_PASSWORD, upgraded.password_hash)
    with pytest.raises(DecryptionError):
        unprotect_private_key(
            upgraded.private_key_protected, DEFAULT_PASSWORD, key_binding(row.id, row.public_key)
        )
    # Still the same key: the report sealed before opens after.
    await cases.open_case(ctx, await as_officer(ctx, "siti"), number)
    client.cookies.clear()
    assert (await login(client, "siti")).status_code == 303


@pytest.mark.parametrize("layout", ["bound", "peppered"])
async def test_a_blob_of_either_older_layout_opens_and_is_rewritten_peppered_and_bound(
    client, ctx, layout
):
    """Blobs written by the branches before they met: bound without the pepper (0x02), or
    peppered without the binding (0x03). Each still opens at login and is replaced by the
    newest layout (0x04), the same key inside."""
    officer_id = await make_officer(ctx, "siti", ["triage"])
    number, _ = await file_report(ctx)
    row = await _row("siti")
    pepper = ctx.keyring.officer_pepper
    binding = key_binding(officer_id, row.public_key)
    private_key = unprotect_private_key(
        row.private_key_protected, DEFAULT_PASSWORD, binding, pepper=pepper
    )
    params = ctx.settings.argon2
    if layout == "bound":
        older = protect_private_key(private_key, DEFAULT_PASSWORD, params, binding)
        expected = b"\x02"
    else:
        older = protect_private_key(private_key, DEFAULT_PASSWORD, params, pepper=pepper)
        expected = b"\x03"
    assert older[:1] == expected and not private_key_is_current(older)
    await Officer.update({Officer.private_key_protected: older}).where(Officer.id == officer_id)

    landed = await login(client, "siti")
    assert landed.status_code == 303, landed.text
    assert (await client.get(f"/officer/cases/{number}")).status_code == 200

    upgraded = await _row("siti")
    assert upgraded.private_key_protected[:1] == b"\x04"
    assert private_key_is_current(upgraded.private_key_protected)
    assert upgraded.public_key == row.public_key
    assert (
        unprotect_private_key(
            upgraded.private_key_protected, DEFAULT_PASSWORD, binding, pepper=pepper
        )
        == private_key
    )
    for wrong in (key_binding(officer_id + 1, row.public_key), key_binding(officer_id, bytes(32))):
        with pytest.raises(DecryptionError):
            unprotect_private_key(
                upgraded.private_key_protected, DEFAULT_PASSWORD, wrong, pepper=pepper
            )
    with pytest.raises(DecryptionError):
        unprotect_private_key(upgraded.private_key_protected, DEFAULT_PASSWORD, binding)
    client.cookies.clear()
    assert (await login(client, "siti")).status_code == 303
    # Already the newest layout: the next login leaves it as it is.
    assert (await _row("siti")).private_key_protected == upgraded.private_key_protected
