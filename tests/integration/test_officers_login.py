"""Officer login, lockout, sessions and logout, through the real pages on both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.forms import csrf_token
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.context import Context
from whistle.crypto import public_key_from_private, session_lookup, unprotect_private_key
from whistle.db.tables import AuditEntry, LoginThrottle, Officer, WebSession
from whistle.officers import totp
from whistle.officers.auth import OFFICER_COOKIE
from whistle.officers.login import GENERIC_FAILURE, LOCKED_MESSAGE
from whistle.officers.throttle import lockout_delay

WRONG = "not the right password at all"


async def login(
    client: httpx.AsyncClient,
    username: str,
    password: str = DEFAULT_PASSWORD,
    code: str = "",
    next: str = "",
) -> httpx.Response:
    token = await csrf_token(client, "/officer/login")
    return await client.post(
        "/officer/login",
        data={
            "username": username,
            "password": password,
            "code": code,
            "next": next,
            "_csrf_token": token,
        },
        follow_redirects=False,
    )


def session_cookie(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get(OFFICER_COOKIE, domain="testserver.local", path="/officer")


async def account_page(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/officer/account", follow_redirects=False)


async def audit_rows(action: str) -> list[dict]:
    rows = await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return [{**row, "details": json.loads(row["details"])} for row in rows]


async def test_login_page_is_a_form_with_csrf(client):
    page = await client.get("/officer/login")
    assert page.status_code == 200
    assert 'name="_csrf_token"' in page.text
    assert 'name="username"' in page.text and 'name="password"' in page.text


async def test_login_issues_a_new_session_each_time_and_logout_kills_it(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    first = await login(client, "siti", next="/officer/account")
    assert first.status_code == 303
    assert first.headers["location"] == "/officer/account"
    cookie_header = first.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=strict" in cookie_header
    assert "secure" in cookie_header and "path=/officer" in cookie_header
    first_token = session_cookie(client)
    assert first_token
    assert (await account_page(client)).status_code == 200

    second = await login(client, "siti")
    assert second.status_code == 303
    second_token = session_cookie(client)
    assert second_token and second_token != first_token
    # The earlier session of this browser ended with the new login.
    client.cookies.set(OFFICER_COOKIE, first_token, domain="testserver.local", path="/officer")
    assert (await account_page(client)).status_code == 303
    client.cookies.set(OFFICER_COOKIE, second_token, domain="testserver.local", path="/officer")
    assert (await account_page(client)).status_code == 200

    token = await csrf_token(client, "/officer/account")
    out = await client.post("/officer/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/officer/login"
    assert not session_cookie(client)
    assert await WebSession.count().where(WebSession.officer.is_not_null()) == 0
    # Replaying the old session id after logout is refused: back to the login page.
    client.cookies.set(OFFICER_COOKIE, second_token, domain="testserver.local", path="/officer")
    replay = await account_page(client)
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/officer/login?next=")
    assert [row["actor"] for row in await audit_rows("officer.login")] == ["siti", "siti"]
    assert [row["actor"] for row in await audit_rows("officer.logout")] == ["siti"]


async def test_session_stores_only_a_hash_of_the_id(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await login(client, "siti")
    token = session_cookie(client)
    row = await WebSession.objects().first()
    assert row.lookup != token
    import base64

    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert row.lookup == session_lookup(raw).hex()
    assert raw not in row.secret


async def test_wrong_password_and_unknown_user_get_the_same_answer(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    wrong = await login(client, "siti", WRONG)
    unknown = await login(client, "nobody", WRONG)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert GENERIC_FAILURE in response.text
        assert WRONG not in response.text
        assert not session_cookie(client)
    assert 'value="siti"' in wrong.text  # the username typed is kept
    failures = await audit_rows("officer.login_failed")
    assert [(row["actor"], row["details"]) for row in failures] == [
        ("siti", {"reason": "bad_credentials"}),
        ("unknown", {"reason": "bad_credentials"}),
    ]
    assert all(WRONG not in json.dumps(row, default=str) for row in failures)


async def test_lockout_grows_and_treats_unknown_users_alike(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    threshold = ctx.settings.login_lockout_threshold
    for name in ("siti", "nobody"):
        for _ in range(threshold - 1):
            assert (await login(client, name, WRONG)).status_code == 401
        # The threshold-th failure still answers generically, and locks.
        last = await login(client, name, WRONG)
        assert GENERIC_FAILURE in last.text
        locked = await login(client, name, DEFAULT_PASSWORD)
        assert locked.status_code == 429
        assert LOCKED_MESSAGE in locked.text
        assert not session_cookie(client)
    rows = await LoginThrottle.select().order_by(LoginThrottle.key)
    assert len(rows) == 2
    assert {row["failures"] for row in rows} == {threshold}
    # No username is stored, only a keyed hash.
    assert all(row["key"] not in ("siti", "nobody") and len(row["key"]) == 64 for row in rows)
    assert lockout_delay(threshold, threshold) == timedelta(minutes=1)
    assert lockout_delay(threshold + 1, threshold) == timedelta(minutes=2)
    assert lockout_delay(threshold + 3, threshold) == timedelta(minutes=8)
    assert lockout_delay(threshold + 40, threshold) == timedelta(hours=24)

    # Once the lock has expired the right password works, and the counter starts again.
    await LoginThrottle.update({LoginThrottle.locked_until: datetime.now(UTC)}).where(
        LoginThrottle.failures > 0
    )
    assert (await login(client, "siti")).status_code == 303
    assert await LoginThrottle.count() == 1  # only the unknown name's counter is left
    reasons = [row["details"]["reason"] for row in await audit_rows("officer.login_failed")]
    assert reasons.count("locked") == 2


async def test_a_further_failure_after_the_lock_doubles_it(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    threshold = ctx.settings.login_lockout_threshold
    for _ in range(threshold):
        await login(client, "siti", WRONG)
    row = await LoginThrottle.objects().first()
    first_lock = row.locked_until - datetime.now(UTC)
    assert timedelta(seconds=50) < first_lock <= timedelta(minutes=1)
    await LoginThrottle.update({LoginThrottle.locked_until: datetime.now(UTC)}).where(
        LoginThrottle.key == row.key
    )
    await login(client, "siti", WRONG)
    row = await LoginThrottle.objects().first()
    assert timedelta(seconds=110) < row.locked_until - datetime.now(UTC) <= timedelta(minutes=2)


async def test_disabled_account_is_told_so_only_with_the_right_password(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    await Officer.update({Officer.active: False}).where(Officer.id == officer_id)
    right = await login(client, "siti")
    assert right.status_code == 403
    assert "dinonaktifkan" in right.text
    assert not session_cookie(client)
    wrong = await login(client, "siti", WRONG)
    assert wrong.status_code == 401 and GENERIC_FAILURE in wrong.text


async def enable_totp_directly(ctx, officer_id: int) -> bytes:
    secret = totp.new_secret()
    row = await Officer.objects().where(Officer.id == officer_id).first()
    await Officer.update(
        {Officer.totp_secret_sealed: totp.seal_secret(row.public_key, officer_id, secret)}
    ).where(Officer.id == officer_id)
    return secret


async def test_totp_is_required_at_login_and_codes_cannot_be_reused(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    secret = await enable_totp_directly(ctx, officer_id)
    step = totp.current_step()
    missing = await login(client, "siti")
    assert missing.status_code == 401 and GENERIC_FAILURE in missing.text
    wrong_code = "000000" if totp.code_for(secret, step) != "000000" else "111111"
    bad = await login(client, "siti", code=wrong_code)
    assert bad.status_code == 401 and GENERIC_FAILURE in bad.text
    # A code far outside the window fails too.
    old = await login(client, "siti", code=totp.code_for(secret, step - 10))
    assert old.status_code == 401

    good = await login(client, "siti", code=totp.code_for(secret, step))
    assert good.status_code == 303
    assert session_cookie(client)
    client.cookies.clear()
    replay = await login(client, "siti", code=totp.code_for(secret, step))
    assert replay.status_code == 401 and GENERIC_FAILURE in replay.text
    # An earlier step than the one used is refused as well.
    earlier = await login(client, "siti", code=totp.code_for(secret, step - 1))
    assert earlier.status_code == 401
    reasons = [row["details"]["reason"] for row in await audit_rows("officer.login_failed")]
    assert reasons == ["bad_totp"] * 5
    assert (await Officer.objects().where(Officer.id == officer_id).first()).totp_last_step == step


async def test_expired_and_idle_sessions_send_back_to_login(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await login(client, "siti")
    assert (await account_page(client)).status_code == 200
    past = datetime.now(UTC) - timedelta(minutes=1)
    await WebSession.update({WebSession.expires_at: past}).where(WebSession.kind == "officer")
    expired = await account_page(client)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/officer/login?next=/officer/account"
    assert await WebSession.count() == 0

    await login(client, "siti")
    idle = datetime.now(UTC) - timedelta(minutes=ctx.settings.officer_idle_minutes + 1)
    await WebSession.update({WebSession.last_seen_at: idle}).where(WebSession.kind == "officer")
    assert (await account_page(client)).status_code == 303


async def test_login_and_logout_without_csrf_token_are_refused(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await client.get("/officer/login")  # the CSRF cookie is set, but the form field is missing
    refused = await client.post(
        "/officer/login",
        data={"username": "siti", "password": DEFAULT_PASSWORD},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert "token keamanan tidak ada" in refused.text
    assert not session_cookie(client)
    assert await WebSession.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action == "officer.login") == 0

    await login(client, "siti")
    logout = await client.post("/officer/logout", data={}, follow_redirects=False)
    assert logout.status_code == 403
    assert "token keamanan tidak ada" in logout.text
    assert await WebSession.count() == 1
    assert (await account_page(client)).status_code == 200


async def test_next_is_never_an_open_redirect(client, ctx):
    await make_officer(ctx, "siti", ["admin"])
    response = await login(client, "siti", next="//evil.example/x")
    assert response.status_code == 303
    assert response.headers["location"] == "/officer/admin/officers"


async def test_must_change_password_goes_to_the_password_page(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    await Officer.update({Officer.must_change_password: True}).where(Officer.username == "siti")
    response = await login(client, "siti", next="/officer/account")
    assert response.headers["location"] == "/officer/password"
    blocked = await account_page(client)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/officer/password"


async def test_login_upgrades_a_hash_made_with_other_costs(client, ctx):
    older = Context(
        settings=ctx.settings.with_changes(argon2_iterations=2), keyring=ctx.keyring, kdf=ctx.kdf
    )
    await make_officer(older, "siti", ["triage"])
    before = await Officer.objects().where(Officer.username == "siti").first()
    assert "t=2" in before.password_hash
    assert (await login(client, "siti")).status_code == 303
    after = await Officer.objects().where(Officer.username == "siti").first()
    assert "t=1" in after.password_hash
    private_key = unprotect_private_key(after.private_key_protected, DEFAULT_PASSWORD)
    assert public_key_from_private(private_key) == before.public_key
