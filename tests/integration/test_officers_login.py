"""Officer login, lockout, sessions and logout, through the real pages on both engines."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest

from tests.support.forms import csrf_token
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.context import Context
from whistle.crypto import (
    KeyDerivationLimiter,
    public_key_from_private,
    session_lookup,
    unprotect_private_key,
    verify_password,
)
from whistle.db.tables import AuditEntry, LoginThrottle, Officer, OfficerRecoveryCode, WebSession
from whistle.errors import ValidationFailed
from whistle.officers import recovery_codes, throttle, totp
from whistle.officers.auth import OFFICER_COOKIE
from whistle.officers.login import GENERIC_FAILURE, LoginRefused, authenticate, check_password
from whistle.officers.service import change_password, confirm_totp, key_binding, totp_enrolment
from whistle.officers.throttle import lock_duration

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


async def lock_name(client: httpx.AsyncClient, ctx: Context, name: str) -> None:
    for _ in range(ctx.settings.login_lockout_threshold):
        assert (await login(client, name, WRONG)).status_code == 401


async def test_lock_treats_unknown_users_alike_and_keeps_no_username(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    for name in ("siti", "nobody"):
        await lock_name(client, ctx, name)
        # The right password no longer gets checked, and the answer is the generic one.
        locked = await login(client, name, DEFAULT_PASSWORD)
        assert locked.status_code == 401 and GENERIC_FAILURE in locked.text
        assert not session_cookie(client)
    rows = await LoginThrottle.select().order_by(LoginThrottle.key)
    assert len(rows) == 2
    assert {(row["episodes"], row["failures"]) for row in rows} == {(1, 0)}
    # No username is stored, only a keyed hash.
    assert all(row["key"] not in ("siti", "nobody") and len(row["key"]) == 64 for row in rows)

    # Once the lock has expired the right password works, and the name is forgotten.
    await LoginThrottle.update({LoginThrottle.locked_until: datetime.now(UTC)}).where(
        LoginThrottle.episodes > 0
    )
    assert (await login(client, "siti")).status_code == 303
    assert await LoginThrottle.count() == 1  # only the unknown name's counter is left
    reasons = [row["details"]["reason"] for row in await audit_rows("officer.login_failed")]
    assert reasons.count("locked") == 2


async def test_the_lock_grows_by_episode_not_by_failure(client, ctx):
    await make_officer(ctx, "siti", ["triage"])
    assert [lock_duration(n) for n in (1, 2, 4, 40)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=8),
        timedelta(hours=24),
    ]

    async def lock_left() -> timedelta:
        row = await LoginThrottle.objects().first()
        return row.locked_until - datetime.now(UTC)

    async def expire() -> None:
        await LoginThrottle.update({LoginThrottle.locked_until: datetime.now(UTC)}).where(
            LoginThrottle.episodes > 0
        )

    await lock_name(client, ctx, "siti")
    assert timedelta(seconds=50) < await lock_left() <= timedelta(minutes=1)
    # More guesses during the lock do not lengthen it.
    for _ in range(10):
        await login(client, "siti", WRONG)
    assert await lock_left() <= timedelta(minutes=1)
    await expire()
    # One failure after the lock is not a new lock; reaching the threshold again is.
    await login(client, "siti", WRONG)
    assert await lock_left() <= timedelta(0)
    for _ in range(ctx.settings.login_lockout_threshold - 1):
        await login(client, "siti", WRONG)
    assert timedelta(seconds=110) < await lock_left() <= timedelta(minutes=2)


async def test_every_failure_kind_gets_the_same_status_and_body(client, ctx):
    """Unknown user, wrong password, right password with a wrong or missing code, disabled
    account and locked name: one status, one page (the typed username aside)."""
    await make_officer(ctx, "aaaa", ["triage"])
    totp_id = await make_officer(ctx, "bbbb", ["triage"])
    secret = await enable_totp_directly(ctx, totp_id)
    disabled_id = await make_officer(ctx, "cccc", ["triage"])
    await Officer.update({Officer.active: False}).where(Officer.id == disabled_id)
    await make_officer(ctx, "dddd", ["triage"])
    await lock_name(client, ctx, "dddd")
    wrong_code = "000000" if totp.code_for(secret, totp.current_step()) != "000000" else "111111"

    attempts = {
        "unknown user": ("eeee", DEFAULT_PASSWORD, ""),
        "wrong password": ("aaaa", WRONG, ""),
        "wrong code": ("bbbb", DEFAULT_PASSWORD, wrong_code),
        "missing code": ("bbbb", DEFAULT_PASSWORD, ""),
        "disabled": ("cccc", DEFAULT_PASSWORD, ""),
        "locked": ("dddd", DEFAULT_PASSWORD, ""),
    }
    answers = {}
    for kind, (name, password, code) in attempts.items():
        response = await login(client, name, password, code)
        body = response.text.replace(f'value="{name}"', 'value="NAME"')
        body = re.sub(r'name="_csrf_token" value="[^"]*"', "", body)
        answers[kind] = (response.status_code, body)
        assert not session_cookie(client)
    assert {status for status, _ in answers.values()} == {401}
    assert len({body for _, body in answers.values()}) == 1, "the pages differ"
    assert GENERIC_FAILURE in answers["locked"][1]
    # The auditors still learn the true reason.
    reasons = [row["details"]["reason"] for row in await audit_rows("officer.login_failed")]
    assert reasons[-6:] == [
        "bad_credentials",
        "bad_credentials",
        "bad_totp",
        "bad_totp",
        "disabled",
        "locked",
    ]


async def test_an_administrator_unlock_clears_only_the_throttle(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    await lock_name(client, ctx, "siti")
    before = await Officer.objects().where(Officer.id == officer_id).first()
    assert (await login(client, "siti")).status_code == 401
    await throttle.unlock_officer(ctx, officer_id, actor="root")
    assert await LoginThrottle.count() == 0
    after = await Officer.objects().where(Officer.id == officer_id).first()
    assert (after.password_hash, after.private_key_protected, after.public_key) == (
        before.password_hash,
        before.private_key_protected,
        before.public_key,
    )
    assert (await login(client, "siti")).status_code == 303
    unlocks = await audit_rows("officer.unlocked")
    assert [(row["actor"], row["details"]) for row in unlocks] == [("root", {"officer": "siti"})]


class CountingLimiter(KeyDerivationLimiter):
    """The real limiter, counting the password checks that actually ran."""

    password_checks = 0

    async def run(self, func, *args):
        if func is check_password:
            self.password_checks += 1
        return await super().run(func, *args)


async def test_a_burst_of_guesses_gets_at_most_the_threshold_of_checks(ctx):
    await make_officer(ctx, "siti", ["triage"])
    counting = dataclasses.replace(ctx, kdf=CountingLimiter(4, None))
    outcomes: list[str] = []

    async def guess() -> None:
        try:
            await authenticate(counting, "siti", WRONG)
        except LoginRefused as refused:
            outcomes.append(refused.reason)

    async with anyio.create_task_group() as group:
        for _ in range(40):
            group.start_soon(guess)
    threshold = ctx.settings.login_lockout_threshold
    assert len(outcomes) == 40
    assert counting.kdf.password_checks == threshold
    assert outcomes.count("locked") == 40 - threshold


async def test_password_change_rechecks_are_throttled(ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    new = "a brand new long passphrase 99"
    for _ in range(ctx.settings.login_lockout_threshold):
        with pytest.raises(ValidationFailed):
            await change_password(ctx, officer_id, current=WRONG, new=new, confirm=new)
    with pytest.raises(ValidationFailed) as refused:
        await change_password(ctx, officer_id, current=DEFAULT_PASSWORD, new=new, confirm=new)
    assert refused.value.errors["current_password"] == throttle.TOO_MANY_ATTEMPTS
    row = await Officer.objects().where(Officer.id == officer_id).first()
    assert verify_password(
        DEFAULT_PASSWORD, row.password_hash, pepper=ctx.keyring.officer_pepper
    ), "the password did not change"


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
    older = dataclasses.replace(ctx, settings=ctx.settings.with_changes(argon2_iterations=2))
    await make_officer(older, "siti", ["triage"])
    before = await Officer.objects().where(Officer.username == "siti").first()
    assert "t=2" in before.password_hash
    assert (await login(client, "siti")).status_code == 303
    after = await Officer.objects().where(Officer.username == "siti").first()
    assert "t=1" in after.password_hash
    private_key = unprotect_private_key(
        after.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(after.id, after.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    assert public_key_from_private(private_key) == before.public_key


async def test_recovery_codes_stand_in_for_totp_once_each_and_are_stored_as_hashes(client, ctx):
    officer_id = await make_officer(ctx, "siti", ["triage"])
    officer = await Officer.objects().where(Officer.id == officer_id).first()
    private_key = unprotect_private_key(
        officer.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(officer.id, officer.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    await enrol_totp(ctx, officer_id, private_key)
    codes = await confirm_totp(
        ctx, officer_id, private_key, await current_pending_code(officer_id, private_key)
    )
    assert len(codes) == len(set(codes)) == 10
    stored = await OfficerRecoveryCode.select().where(OfficerRecoveryCode.officer == officer_id)
    assert len(stored) == 10
    dumped = json.dumps(stored, default=str)
    assert not any(code in dumped or code.replace("-", "") in dumped for code in codes)

    used = codes[3]
    assert (await login(client, "siti", code=used.lower())).status_code == 303
    client.cookies.clear()
    again = await login(client, "siti", code=used)
    assert again.status_code == 401 and GENERIC_FAILURE in again.text
    assert (await login(client, "siti", code=codes[4].replace("-", " "))).status_code == 303
    assert await recovery_codes.remaining(officer_id) == 8
    logins = await audit_rows("officer.login")
    assert [row["details"] for row in logins] == [{"second_factor": "recovery_code"}] * 2
    assert all(used not in json.dumps(row, default=str) for row in logins)
    # Another officer's code is no use here.
    other_id = await make_officer(ctx, "budi", ["triage"])
    other = await Officer.objects().where(Officer.id == other_id).first()
    other_key = unprotect_private_key(
        other.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(other.id, other.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    await enrol_totp(ctx, other_id, other_key)
    other_codes = await confirm_totp(
        ctx, other_id, other_key, await current_pending_code(other_id, other_key)
    )
    client.cookies.clear()
    assert (await login(client, "siti", code=other_codes[0])).status_code == 401


async def enrol_totp(ctx, officer_id: int, private_key: bytes) -> None:
    await totp_enrolment(officer_id, private_key)


async def current_pending_code(officer_id: int, private_key: bytes) -> str:
    row = await Officer.objects().where(Officer.id == officer_id).first()
    secret = totp.unseal_secret(private_key, officer_id, row.totp_pending_sealed)
    return totp.code_for(secret, totp.current_step())


@pytest.mark.parametrize("language", ["id", "en"])
async def test_recovery_codes_page_in_both_languages(client, ctx, language):
    await make_officer(ctx, "siti", ["triage"])
    if language == "en":
        await client.get("/bahasa?lang=en&next=/")
    assert (await login(client, "siti")).status_code == 303
    officer = await Officer.objects().where(Officer.username == "siti").first()
    private_key = unprotect_private_key(
        officer.private_key_protected,
        DEFAULT_PASSWORD,
        key_binding(officer.id, officer.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    await client.get("/officer/account/totp")
    code = await current_pending_code(officer.id, private_key)
    token = await csrf_token(client, "/officer/account/totp")
    page = await client.post(
        "/officer/account/totp", data={"code": code, "_csrf_token": token}, follow_redirects=False
    )
    assert page.status_code == 200
    heading = "Recovery codes" if language == "en" else "Kode pemulihan"
    assert heading in page.text
