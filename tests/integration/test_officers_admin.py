"""Officer administration pages: who may use them, and what each action does to keys and
sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.integration.test_officers_account import post
from tests.integration.test_officers_login import audit_rows, login
from tests.support.forms import submit_report_form
from tests.support.officers import (
    DEFAULT_PASSWORD,
    logged_in,
    make_officer,
    roles_of_user,
    session_for,
)
from whistle.db.tables import CaseAssignment, Officer, Report, ReportKey, WebSession
from whistle.errors import Conflict
from whistle.officers import admin, totp
from whistle.officers.auth import OFFICER_COOKIE
from whistle.reports.envelope import holder_tag

ADMIN_PAGES = [
    "/officer/admin/officers",
    "/officer/admin/officers/new",
]
TEMPORARY = "a temporary passphrase 2026 x"


async def officer_row(username: str) -> Officer:
    return await Officer.objects().where(Officer.username == username).first()


async def wraps_of(officer_id: int) -> int:
    return await ReportKey.count().where(ReportKey.holder_tag == holder_tag(officer_id))


async def test_anonymous_is_sent_to_login_and_non_admins_are_refused(client, ctx):
    await make_officer(ctx, "siti", ["triage", "auditor", "investigator"])
    for path in ADMIN_PAGES:
        anonymous = await client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/officer/login?next=")
    await logged_in(client, ctx, "siti")
    for path in ADMIN_PAGES:
        assert (await client.get(path)).status_code == 403
    target = await officer_row("siti")
    assert (await client.get(f"/officer/admin/officers/{target.id}")).status_code == 403
    # A POST by a non-admin changes nothing.
    refused = await post(
        client, f"/officer/admin/officers/{target.id}/roles", {"roles": "admin"}, "/officer/account"
    )
    assert refused.status_code == 403
    assert await roles_of_user("siti") == "auditor,investigator,triage"


async def test_admin_adds_an_officer_who_must_change_the_password(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "ani", ["admin"])  # the second administrator
    await logged_in(client, ctx, "root")
    listing = await client.get("/officer/admin/officers")
    assert listing.status_code == 200 and "root" in listing.text

    weak = await post(
        client,
        "/officer/admin/officers/new",
        {"username": "budi", "display_name": "Budi S.", "roles": "triage", "password": "short"},
        "/officer/admin/officers/new",
    )
    assert weak.status_code == 422
    assert 'value="budi"' in weak.text and 'value="Budi S."' in weak.text
    assert "12 karakter" in weak.text
    assert await officer_row("budi") is None

    added = await post(
        client,
        "/officer/admin/officers/new",
        {
            "username": "budi",
            "display_name": "Budi S.",
            "roles": ["triage", "investigator"],
            "password": TEMPORARY,
        },
        "/officer/admin/officers/new",
    )
    assert added.status_code == 303
    row = await officer_row("budi")
    # The content roles wait for a second administrator (threat model 7).
    assert await roles_of_user("budi") == ""
    [grant] = await admin.pending_grants()
    assert grant.username == "budi" and grant.roles == ["investigator", "triage"]
    await admin.confirm_role_grant(ctx, grant.id, actor="ani")
    assert (
        await roles_of_user("budi") == "investigator,triage"
        and row.must_change_password
        and row.active
    )
    duplicate = await post(
        client,
        "/officer/admin/officers/new",
        {"username": "budi", "roles": "triage", "password": TEMPORARY},
        "/officer/admin/officers/new",
    )
    assert duplicate.status_code == 409 and "sudah dipakai" in duplicate.text
    entries = await audit_rows("officer.added")
    assert entries[-1]["actor"] == "root"
    assert entries[-1]["details"] == {"officer": "budi", "roles": []}
    assert TEMPORARY not in str(entries)

    client.cookies.clear()
    first = await login(client, "budi", TEMPORARY)
    assert first.headers["location"] == "/officer/password"


async def _assign(report_id, officer_id: int) -> None:
    await CaseAssignment.insert(
        CaseAssignment(report=report_id, officer=officer_id, assigned_at=datetime.now(UTC))
    )


async def test_disable_removes_wraps_assignments_and_sessions(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage", "investigator"])
    await submit_report_form(client)
    report = await Report.objects().first()
    await _assign(report.id, budi)
    budi_token = await session_for(ctx, "budi")
    assert await wraps_of(budi) == 1

    await logged_in(client, ctx, "root")
    disabled = await post(
        client,
        f"/officer/admin/officers/{budi}/disable",
        {"confirm": "yes"},
        f"/officer/admin/officers/{budi}/disable",
    )
    assert disabled.status_code == 303
    row = await officer_row("budi")
    assert not row.active
    assert await wraps_of(budi) == 0
    assert await CaseAssignment.count().where(CaseAssignment.officer == budi) == 0
    assert await WebSession.count().where(WebSession.officer == budi) == 0
    # Budi's old session no longer opens anything.
    client.cookies.clear()
    client.cookies.set(OFFICER_COOKIE, budi_token, domain="testserver.local")
    assert (await client.get("/officer/account", follow_redirects=False)).status_code == 303
    entry = (await audit_rows("officer.disabled"))[-1]
    assert entry["actor"] == "root"
    assert entry["details"]["officer"] == "budi"
    assert entry["details"]["wraps_removed"] == 1
    assert entry["details"]["assignments_removed"] == 1

    await logged_in(client, ctx, "root")
    enabled = await post(
        client, f"/officer/admin/officers/{budi}/enable", {}, f"/officer/admin/officers/{budi}"
    )
    assert enabled.status_code == 303
    assert (await officer_row("budi")).active
    assert await wraps_of(budi) == 0  # access must be granted again
    assert (await audit_rows("officer.enabled"))[-1]["details"]["officer"] == "budi"


async def test_reset_gives_a_new_key_pair_and_removes_access(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await submit_report_form(client)
    before = await officer_row("budi")
    await Officer.update(
        {Officer.totp_secret_sealed: totp.seal_secret(before.public_key, budi, totp.new_secret())}
    ).where(Officer.id == budi)
    await session_for(ctx, "budi")

    await logged_in(client, ctx, "root")
    weak = await post(
        client,
        f"/officer/admin/officers/{budi}/reset-password",
        {"password": "budi", "confirm": "yes"},
        f"/officer/admin/officers/{budi}/reset-password",
    )
    assert weak.status_code == 422
    assert (await officer_row("budi")).public_key == before.public_key
    reset = await post(
        client,
        f"/officer/admin/officers/{budi}/reset-password",
        {"password": TEMPORARY, "confirm": "yes"},
        f"/officer/admin/officers/{budi}/reset-password",
    )
    assert reset.status_code == 303
    after = await officer_row("budi")
    assert after.public_key != before.public_key
    assert after.must_change_password
    assert after.totp_secret_sealed is None
    assert await wraps_of(budi) == 0
    assert await WebSession.count().where(WebSession.officer == budi) == 0
    entry = (await audit_rows("officer.password_reset"))[-1]
    assert entry["actor"] == "root"
    assert entry["details"] == {"officer": "budi", "roles": ["triage"], "wraps_removed": 1}
    assert TEMPORARY not in str(entry)

    client.cookies.clear()
    assert (await login(client, "budi", DEFAULT_PASSWORD)).status_code == 401
    assert (await login(client, "budi", TEMPORARY)).headers["location"] == "/officer/password"


async def test_roles_change_and_the_last_admin_is_kept(client, ctx):
    root = await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await logged_in(client, ctx, "root")

    refused = await post(
        client,
        f"/officer/admin/officers/{root}/roles",
        {"roles": "triage"},
        f"/officer/admin/officers/{root}",
    )
    assert refused.status_code == 409
    assert "terakhir" in refused.text
    assert await roles_of_user("root") == "admin"
    empty = await post(
        client, f"/officer/admin/officers/{budi}/roles", {}, f"/officer/admin/officers/{budi}"
    )
    assert empty.status_code == 422

    changed = await post(
        client,
        f"/officer/admin/officers/{budi}/roles",
        {"roles": ["admin", "triage"]},
        f"/officer/admin/officers/{budi}",
    )
    assert changed.status_code == 303
    assert await roles_of_user("budi") == "admin,triage"
    entry = (await audit_rows("officer.roles_changed"))[-1]
    assert entry["actor"] == "root"
    assert entry["details"]["officer"] == "budi"
    assert entry["details"]["roles"] == ["admin", "triage"]
    # With a second admin, root may now drop the admin role.
    await admin.set_roles(ctx, root, ["auditor"], actor="budi")
    assert await roles_of_user("root") == "auditor"
    # Budi is now the last admin: neither disabling nor demoting is allowed.
    with pytest.raises(Conflict):
        await admin.disable_officer(ctx, budi, actor="budi")
    with pytest.raises(Conflict):
        await admin.set_roles(ctx, budi, ["triage"], actor="budi")


async def test_dropping_triage_keeps_only_assigned_cases(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    budi = await make_officer(ctx, "budi", ["triage", "investigator"])
    await submit_report_form(client)
    await submit_report_form(client)
    reports = await Report.select(Report.id).order_by(Report.case_number)
    await _assign(reports[0]["id"], budi)
    assert await wraps_of(budi) == 2
    await admin.set_roles(ctx, budi, ["investigator"], actor="root")
    remaining = await ReportKey.select(ReportKey.report).where(
        ReportKey.holder_tag == holder_tag(budi)
    )
    assert [uuid.UUID(str(row["report"])) for row in remaining] == [
        uuid.UUID(str(reports[0]["id"]))
    ]
    await admin.set_roles(ctx, budi, ["auditor"], actor="root")
    assert await wraps_of(budi) == 0
    assert await CaseAssignment.count().where(CaseAssignment.officer == budi) == 0


async def test_admin_turns_the_two_factor_requirement_on(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await logged_in(client, ctx, "root")
    saved = await post(
        client, "/officer/admin/settings", {"require_totp": "on"}, "/officer/admin/officers"
    )
    assert saved.status_code == 303
    # The admin has no TOTP yet, so they are sent to enrol too.
    follow = await client.get("/officer/admin/officers", follow_redirects=False)
    assert follow.headers["location"] == "/officer/account/totp"
    entry = (await audit_rows("settings.changed"))[-1]
    assert entry["actor"] == "root"
    assert entry["details"] == {"setting": "require_totp", "value": True}
