"""No content for administrators without a second person (threat model 7): nobody changes their
own roles, and a content role (triage, investigator) is given only when a second administrator
confirms it on the admin page, or through the CLI with the office recovery passphrase."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.integration.test_officers_account import post
from tests.integration.test_officers_cli import whistle
from tests.integration.test_officers_login import audit_rows
from tests.support.officers import logged_in, make_officer, roles_of_user
from whistle.db.tables import RoleGrantRequest
from whistle.errors import Conflict
from whistle.officers import admin

LIST = "/officer/admin/officers"


async def roles_form(client, target: int, roles: list[str]):
    return await post(client, f"{LIST}/{target}/roles", {"roles": roles}, f"{LIST}/{target}")


async def test_an_administrator_cannot_give_themselves_content_access_on_the_web(client, ctx):
    root = await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "ani", ["admin"])
    await logged_in(client, ctx, "root")
    refused = await roles_form(client, root, ["admin", "triage"])
    assert refused.status_code == 409 and "sendiri" in refused.text
    assert await roles_of_user("root") == "admin"
    assert await RoleGrantRequest.count() == 0
    with pytest.raises(Conflict):
        await admin.set_roles(ctx, root, ["admin", "investigator"], actor="root")
    assert await roles_of_user("root") == "admin"


async def test_a_content_role_waits_for_a_second_administrator(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "ani", ["admin"])
    sari = await make_officer(ctx, "sari", ["auditor"])
    await logged_in(client, ctx, "root")
    asked = await roles_form(client, sari, ["auditor", "triage"])
    assert asked.status_code == 303 and asked.headers["location"].endswith("done=role_pending")
    assert await roles_of_user("sari") == "auditor"  # not yet
    [grant] = await admin.pending_grants()
    listing = await client.get(LIST)
    assert 'id="grant-sari"' in listing.text and "Menunggu administrator lain" in listing.text

    # The requester cannot confirm their own request.
    own = await post(client, f"/officer/admin/role-grants/{grant.id}/confirm", {}, LIST)
    assert own.status_code == 409
    assert await roles_of_user("sari") == "auditor"

    client.cookies.clear()
    await logged_in(client, ctx, "ani")
    confirmed = await post(client, f"/officer/admin/role-grants/{grant.id}/confirm", {}, LIST)
    assert confirmed.status_code == 303
    assert await roles_of_user("sari") == "auditor,triage"
    assert await RoleGrantRequest.count() == 0
    [requested] = await audit_rows("officer.role_grant_requested")
    assert requested["actor"] == "root" and requested["details"]["officer"] == "sari"
    [granted] = await audit_rows("officer.content_role_granted")
    assert granted["actor"] == "ani"
    assert granted["details"]["requested_by"] == "root"
    assert granted["details"]["confirmed_by"] == "ani"
    assert granted["details"]["roles"] == ["auditor", "triage"]
    assert await audit_rows("officer.roles_changed") == []

    # The grant stands out in the audit viewer, in both languages.
    await make_officer(ctx, "insp", ["auditor"])
    client.cookies.clear()
    await logged_in(client, ctx, "insp")
    viewer = await client.get("/officer/audit")
    assert 'class="stand-out"' in viewer.text
    assert "Peran akses isi laporan diberikan" in viewer.text
    english = await client.get("/officer/audit?lang=en")
    assert "Content access role granted" in english.text


async def test_a_rejected_grant_changes_nothing(ctx):
    await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "ani", ["admin"])
    sari = await make_officer(ctx, "sari", ["auditor"])
    assert await admin.set_roles(ctx, sari, ["investigator"], actor="root") == "pending"
    [grant] = await admin.pending_grants()
    await admin.reject_role_grant(ctx, grant.id, actor="ani")
    assert await roles_of_user("sari") == "auditor"
    assert [row["actor"] for row in await audit_rows("officer.role_grant_rejected")] == ["ani"]
    # Dropping a content role needs nobody else.
    budi = await make_officer(ctx, "budi", ["triage"])
    assert await admin.set_roles(ctx, budi, ["auditor"], actor="root") == "applied"


async def test_the_cli_gives_a_content_role_only_with_the_office_passphrase(
    database, ctx, tmp_path: Path
):
    await make_officer(ctx, "sari", ["auditor"])
    alone = await whistle(database, "officer", "roles", "sari", "--role", "triage")
    assert alone.exit_code != 0 and "second person" in alone.output
    assert await roles_of_user("sari") == "auditor"
    wrong = tmp_path / "wrong"
    wrong.write_text("not the office passphrase\n")
    refused = await whistle(
        database, "officer", "roles", "sari", "--role", "triage", "--passphrase-file", str(wrong)
    )
    assert refused.exit_code != 0
    assert await roles_of_user("sari") == "auditor"
    right = tmp_path / "passphrase"
    right.write_text(OFFICE_PASSPHRASE + "\n")
    granted = await whistle(
        database, "officer", "roles", "sari", "--role", "triage", "--passphrase-file", str(right)
    )
    assert granted.exit_code == 0, granted.output
    assert await roles_of_user("sari") == "triage"
    [entry] = await audit_rows("officer.content_role_granted")
    assert entry["actor"] == "cli" and entry["details"]["confirmed_by"] == "office_passphrase"
    assert OFFICE_PASSPHRASE not in str(entry)
