"""Officers' alert addresses: set by the administrator (add and edit), by the CLI and by the
officer on their account page; checked, audited without the address, optional."""

from __future__ import annotations

import pytest

from tests.integration.test_officers_account import post
from tests.integration.test_officers_cli import PASSWORD, whistle
from tests.integration.test_officers_login import audit_rows
from tests.support.officers import logged_in, make_officer
from whistle.db.tables import Officer
from whistle.errors import ValidationFailed
from whistle.officers.service import set_email, validate_email

TEMPORARY = "a temporary passphrase 2026 x"


async def email_of(username: str) -> str | None:
    row = await Officer.select(Officer.email).where(Officer.username == username).first()
    return row["email"]


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign",
        "two@@imigrasi.example",
        "Budi <budi@imigrasi.example>",
        "budi@imigrasi.example\r\nBcc: x@y.example",
        "budi@localhost",
        "budi..s@imigrasi.example",
        "a" * 65 + "@imigrasi.example",
    ],
)
def test_addresses_a_mail_server_cannot_route_are_refused(address):
    with pytest.raises(ValidationFailed) as refused:
        validate_email(address)
    assert "email" in refused.value.errors


def test_an_address_is_kept_with_its_domain_lower_cased_and_blank_means_none():
    assert validate_email(" Budi.S@Imigrasi.Example ") == "Budi.S@imigrasi.example"
    assert validate_email("") is None
    assert validate_email(None) is None


async def test_set_email_is_audited_without_the_address(ctx):
    budi = await make_officer(ctx, "budi", ["triage"])
    await set_email(budi, "budi@imigrasi.example", actor="root")
    await set_email(budi, "budi@imigrasi.example", actor="root")  # unchanged: no entry
    await set_email(budi, "", actor="budi")
    assert await email_of("budi") is None
    entries = await audit_rows("officer.email_changed")
    assert [(e["actor"], e["details"]) for e in entries] == [
        ("root", {"officer": "budi", "mail": True}),
        ("budi", {"officer": "budi", "mail": False}),
    ]
    assert "imigrasi.example" not in str(entries)


async def test_cli_adds_an_officer_with_an_address(database):
    added = await whistle(
        database,
        "officer",
        "add",
        "budi",
        "--role",
        "auditor",
        "--email",
        "budi@imigrasi.example",
        "--password-stdin",
        input=PASSWORD,
    )
    assert added.exit_code == 0, added.output
    assert await email_of("budi") == "budi@imigrasi.example"
    refused = await whistle(
        database,
        "officer",
        "add",
        "ani",
        "--role",
        "auditor",
        "--email",
        "not an address",
        "--password-stdin",
        input=PASSWORD,
    )
    assert refused.exit_code != 0
    assert "Traceback" not in refused.output
    assert await Officer.count().where(Officer.username == "ani") == 0


async def test_admin_sets_addresses_and_the_list_says_who_gets_no_mail(client, ctx):
    await make_officer(ctx, "root", ["admin"])
    await logged_in(client, ctx, "root")
    form = "/officer/admin/officers/new"
    refused = await post(
        client,
        form,
        {"username": "budi", "roles": "auditor", "password": TEMPORARY, "email": "budi@"},
        form,
    )
    assert refused.status_code == 422
    assert 'value="budi@"' in refused.text and "Alamat surel tidak valid" in refused.text
    added = await post(
        client,
        form,
        {
            "username": "budi",
            "roles": "auditor",
            "password": TEMPORARY,
            "email": "b@imigrasi.example",
        },
        form,
    )
    assert added.status_code == 303
    assert await email_of("budi") == "b@imigrasi.example"

    listing = await client.get("/officer/admin/officers")
    assert "b@imigrasi.example" in listing.text
    assert "tidak menerima surel" in listing.text  # root has no address

    root = await Officer.select(Officer.id).where(Officer.username == "root").first()
    page = f"/officer/admin/officers/{root['id']}"
    bad = await post(client, f"{page}/email", {"email": "root at office"}, page)
    assert bad.status_code == 422 and 'value="root at office"' in bad.text
    assert await email_of("root") is None
    done = await post(client, f"{page}/email", {"email": "root@imigrasi.example"}, page)
    assert done.status_code == 303
    assert await email_of("root") == "root@imigrasi.example"


async def test_an_officer_changes_their_own_address(client, ctx):
    await make_officer(ctx, "budi", ["investigator"])
    await logged_in(client, ctx, "budi")
    page = "/officer/account"
    shown = await client.get(page)
    assert "tidak menerima surel" in shown.text
    bad = await post(client, f"{page}/email", {"email": "budi@"}, page)
    assert bad.status_code == 422
    assert 'value="budi@"' in bad.text and "Alamat surel tidak valid" in bad.text
    done = await post(client, f"{page}/email", {"email": "budi@imigrasi.example"}, page)
    assert done.status_code == 303 and done.headers["location"] == "/officer/account?changed=email"
    assert await email_of("budi") == "budi@imigrasi.example"
    shown = await client.get(done.headers["location"])
    assert 'value="budi@imigrasi.example"' in shown.text
    assert "tidak menerima surel" not in shown.text
