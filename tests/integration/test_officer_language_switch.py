"""The language switch of the officer pages keeps what was typed (issue 12, item 3): on every
page with a form, each language is a button of the form being written in, so switching sends
the form back to its own page, shown again in the other language with the typed values (and,
after a refusal, its error messages) and nothing stored, checked or changed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from tests.integration.test_access_matrix import GET_EXPECTED, ROLES
from tests.support.cases import as_officer, file_report
from tests.support.forms import csrf_token
from tests.support.officers import DEFAULT_PASSWORD, logged_in, make_officer, session_for
from whistle.cases import service as cases
from whistle.db.tables import (
    AuditEntry,
    CaseMessage,
    CaseNote,
    Officer,
    OfficerRole,
    PendingItem,
    StatusEvent,
    WebSession,
)
from whistle.officers import admin
from whistle.officers.auth import OFFICER_COOKIE
from whistle.web.language import LANGUAGE_COOKIE

NOTE = "Saksi kedua minta bertemu di luar kantor; jangan telepon ke nomor kantor."


async def _stored() -> dict[str, object]:
    """Everything a switch must leave as it was."""
    return {
        "audit": await AuditEntry.count(),
        "notes": await CaseNote.count(),
        "messages": await CaseMessage.count(),
        "pending": await PendingItem.count(),
        "events": await StatusEvent.count(),
        "officers": await Officer.count(),
        "roles": await OfficerRole.count(),
        "sessions": await WebSession.count(),
        "passwords": await Officer.select(Officer.username, Officer.password_hash),
    }


def _switch(data: dict, language: str = "en") -> dict:
    return {**data, "switch_language": language}


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1).strip()


async def test_the_login_form_switches_language_keeping_the_username(client):
    token = await csrf_token(client, "/officer/login")
    before = await _stored()
    switched = await client.post(
        "/officer/login?lang=en",
        data=_switch(
            {"username": "siti.rahma", "password": "never shown", "code": "", "_csrf_token": token}
        ),
    )
    assert switched.status_code == 200
    assert 'lang="en"' in switched.text and "Officer Sign-in" in switched.text
    assert 'value="siti.rahma"' in switched.text
    assert "never shown" not in switched.text, "a password is never written back"
    assert switched.cookies.get(LANGUAGE_COOKIE) == "en"
    assert await _stored() == before, "nothing was checked, logged or stored"
    # The switch is a button of the form, and the way back to Indonesian is one too.
    assert 'form="login-form"' in switched.text and 'name="switch_language"' in switched.text
    back = await client.post(
        "/officer/login?lang=id",
        data=_switch({"username": "siti.rahma", "_csrf_token": token}, "id"),
    )
    assert "Masuk Petugas" in back.text and 'value="siti.rahma"' in back.text


async def test_a_refused_login_switches_with_its_message(client, ctx):
    await make_officer(ctx, "budi", ["triage"])
    token = await csrf_token(client, "/officer/login")
    refused = await client.post(
        "/officer/login",
        data={"username": "budi", "password": "wrong password", "_csrf_token": token},
    )
    assert refused.status_code == 401
    message = re.search(r'<p id="login-error">(.*?)</p>', refused.text).group(1)
    carried = re.findall(r'name="refused" value="([^"]*)"', refused.text)
    assert carried, "the refusal travels with the switch"
    before = await _stored()
    switched = await client.post(
        "/officer/login?lang=en",
        data=_switch({"username": "budi", "_csrf_token": token, "refused": carried}),
    )
    english = re.search(r'<p id="login-error">(.*?)</p>', switched.text).group(1)
    assert english and english != message, "the same message, now in English"
    assert 'value="budi"' in switched.text
    assert await _stored() == before


async def test_the_switch_carries_only_the_interface_s_own_messages(client):
    token = await csrf_token(client, "/officer/login")
    switched = await client.post(
        "/officer/login?lang=en",
        data=_switch({"username": "x", "_csrf_token": token, "refused": ":Call 0812 now"}),
    )
    assert switched.status_code == 200 and "0812" not in switched.text


async def test_the_password_change_switches_language_and_changes_nothing(client, ctx):
    await make_officer(ctx, "sari", ["investigator"])
    await logged_in(client, ctx, "sari")
    token = await csrf_token(client, "/officer/password")
    before = await _stored()
    typed = {
        "current_password": DEFAULT_PASSWORD,
        "new_password": "a brand new passphrase 77",
        "confirm_password": "a brand new passphrase 77",
        "_csrf_token": token,
    }
    switched = await client.post("/officer/password?lang=en", data=_switch(typed))
    assert switched.status_code == 200 and "Change Password" in switched.text
    assert "a brand new passphrase" not in switched.text
    assert await _stored() == before, "the password is unchanged"
    # After a refusal the message comes back in the other language.
    refused = await client.post(
        "/officer/password", data={**typed, "confirm_password": "something else entirely"}
    )
    assert refused.status_code == 422 and _title(refused.text).startswith("Error: ")
    carried = re.findall(r'name="refused" value="([^"]*)"', refused.text)
    back = await client.post(
        "/officer/password?lang=id",
        data=_switch({"_csrf_token": token, "refused": carried}, "id"),
    )
    assert _title(back.text).startswith("Kesalahan: ")
    assert 'aria-invalid="true"' in back.text
    assert await _stored() == before


async def _case_worker(client: httpx.AsyncClient, ctx) -> str:
    await make_officer(ctx, "triage", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "triage")
    return number


async def test_a_case_note_switches_language_and_is_not_saved(client, ctx):
    number = await _case_worker(client, ctx)
    token = await csrf_token(client, f"/officer/cases/{number}")
    before = await _stored()
    switched = await client.post(
        f"/officer/cases/{number}/notes?lang=en",
        data=_switch({"body": NOTE, "_csrf_token": token}),
    )
    assert switched.status_code == 200
    assert 'lang="en"' in switched.text and "Add a note" in switched.text
    note_field = re.search(r'<textarea id="note-body"[^>]*>(.*?)</textarea>', switched.text, re.S)
    assert note_field and note_field.group(1) == NOTE
    assert await _stored() == before, "no note, no audit entry, no case view"


async def test_a_message_to_the_reporter_switches_language_and_is_not_sent(client, ctx):
    number = await _case_worker(client, ctx)
    token = await csrf_token(client, f"/officer/cases/{number}")
    before = await _stored()
    switched = await client.post(
        f"/officer/cases/{number}/messages?lang=en",
        data=_switch({"message": "Mohon kirim foto kuitansinya.", "_csrf_token": token}),
    )
    assert switched.status_code == 200 and "Write a message to the reporter" in switched.text
    assert "Mohon kirim foto kuitansinya.</textarea>" in switched.text
    assert await _stored() == before, "nothing sent to the reporter"
    # The streamed form checks its token itself: a switch without it is refused too.
    forged = await client.post(
        f"/officer/cases/{number}/messages?lang=en",
        data=_switch({"message": "x", "_csrf_token": "0" * 64}),
    )
    assert forged.status_code == 403
    assert await _stored() == before


async def test_a_switch_of_unknown_length_on_an_upload_route_never_sends(client, ctx):
    number = await _case_worker(client, ctx)
    token = await csrf_token(client, f"/officer/cases/{number}")
    before = await _stored()

    async def body():  # sent in chunks: no Content-Length to bound a peek at the form
        yield f"message=Halo&_csrf_token={token}&switch_language=en".encode()

    response = await client.post(
        f"/officer/cases/{number}/messages?lang=en",
        content=body(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and response.url.path == f"/officer/cases/{number}"
    assert await _stored() == before, "nothing sent to the reporter"


async def test_a_refused_case_form_switches_with_its_message_and_text(client, ctx):
    number = await _case_worker(client, ctx)
    token = await csrf_token(client, f"/officer/cases/{number}")
    too_long = "x" * 30_000
    refused = await client.post(
        f"/officer/cases/{number}/notes", data={"body": too_long, "_csrf_token": token}
    )
    assert refused.status_code == 422
    carried = re.findall(r'name="refused" value="([^"]*)"', refused.text)
    assert carried
    before = await _stored()
    switched = await client.post(
        f"/officer/cases/{number}/notes?lang=en",
        data=_switch({"body": "Catatan yang ditolak", "_csrf_token": token, "refused": carried}),
    )
    assert switched.status_code == 422 and _title(switched.text).startswith("Error: ")
    assert "Catatan yang ditolak</textarea>" in switched.text
    assert 'id="note-body-error"' in switched.text
    assert await _stored() == before


async def test_an_admin_form_switches_language_keeping_what_was_typed(client, ctx):
    await make_officer(ctx, "admin", ["admin"])
    await logged_in(client, ctx, "admin")
    token = await csrf_token(client, "/officer/admin/officers/new")
    typed = {
        "username": "dewi.lestari",
        "display_name": "Dewi Lestari",
        "email": "dewi@imigrasi.example",
        "password": "a temporary passphrase 9",
        "roles": ["auditor"],
        "_csrf_token": token,
    }
    before = await _stored()
    switched = await client.post("/officer/admin/officers/new?lang=en", data=_switch(typed))
    assert switched.status_code == 200 and "Add Officer" in switched.text
    for value in ("dewi.lestari", "Dewi Lestari", "dewi@imigrasi.example"):
        assert f'value="{value}"' in switched.text
    assert re.search(r'value="auditor"[^>]*checked', switched.text)
    assert "a temporary passphrase" not in switched.text
    assert await _stored() == before, "no officer added"
    # A refused form: typed values and the message, in the other language.
    refused = await client.post(
        "/officer/admin/officers/new", data={**typed, "username": "Dewi Lestari!"}
    )
    assert refused.status_code == 422
    carried = re.findall(r'name="refused" value="([^"]*)"', refused.text)
    switched_back = await client.post(
        "/officer/admin/officers/new?lang=id",
        data=_switch({**typed, "username": "Dewi Lestari!", "refused": carried}, "id"),
    )
    assert _title(switched_back.text).startswith("Kesalahan: ")
    assert 'value="Dewi Lestari!"' in switched_back.text
    assert 'id="username-error"' in switched_back.text
    assert await _stored() == before


async def test_the_switch_is_csrf_protected(client, ctx):
    await make_officer(ctx, "admin", ["admin"])
    await logged_in(client, ctx, "admin")
    before = await _stored()
    response = await client.post(
        "/officer/admin/officers/new?lang=en", data=_switch({"username": "x"})
    )
    assert response.status_code == 403
    assert await _stored() == before


async def test_a_switch_on_a_get_form_keeps_its_filters_and_remembers_the_language(client, ctx):
    await make_officer(ctx, "auditor", ["auditor"])
    await logged_in(client, ctx, "auditor")
    page = await client.get(
        "/officer/audit", params={"actor": "budi", "switch_language": "en", "lang": "en"}
    )
    assert page.status_code == 200 and "Audit Log" in page.text
    assert page.url.path == "/officer/audit" and "switch_language" not in str(page.url)
    assert 'value="budi"' in page.text
    assert client.cookies.get(LANGUAGE_COOKIE) == "en"


# --- every officer page with a form carries the form-keeping switch ----------------------------

TYPED_INPUTS = {"text", "email", "password", "date", "number", "search", "tel", "url"}


class _Forms(HTMLParser):
    """The page's forms that hold typed text, and the switch buttons (and the form each sends)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, bool] = {}  # id -> holds typed text
        self.unnamed_typed = 0
        self.switches: set[str] = set()
        self.header_links = 0
        self._form: str | None = None
        self._in_lang_nav = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "nav" and "lang" in (attr.get("class") or "").split():
            self._in_lang_nav = True
        if tag == "a" and self._in_lang_nav:
            self.header_links += 1
        if tag == "form":
            self._form = attr.get("id") or ""
            self.forms.setdefault(self._form, False)
        typed = tag == "textarea" or (
            tag == "input" and (attr.get("type") or "text") in TYPED_INPUTS
        )
        if typed and self._form is not None:
            self.forms[self._form] = True
            if not self._form:
                self.unnamed_typed += 1
        if tag == "button" and attr.get("name") == "switch_language":
            self.switches.add(attr.get("form") or self._form or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "nav":
            self._in_lang_nav = False


def _reader_of(expected: dict[str, str]) -> str | None:
    for principal in ("triage", "admin", "auditor", "investigator"):
        if expected.get(principal) == "ok":
            return principal
    return None


async def test_every_officer_page_with_a_form_has_the_form_keeping_switch(client, ctx):
    ids = {name: await make_officer(ctx, name, roles) for name, roles in ROLES.items()}
    number, _ = await file_report(ctx)
    await cases.assign(await as_officer(ctx, "triage"), number, str(ids["investigator"]))
    target = await make_officer(ctx, "target", ["investigator"])
    await admin.set_roles(ctx, target, ["investigator", "triage"], actor="admin")
    pages = {
        path.replace("{number:str}", number).replace("{officer_id:int}", str(target)): expected
        for path, expected in GET_EXPECTED.items()
        if not path.endswith((".csv", "{file_id:uuid}"))
    }
    pages["/officer/login"] = {"anonymous": "ok"}
    checked = []
    for path, expected in pages.items():
        principal = _reader_of(expected)
        client.cookies.clear()
        if principal:
            token = await session_for(ctx, principal)
            client.cookies.set(OFFICER_COOKIE, token, domain="testserver.local")
        response = await client.get(path)
        assert response.status_code == 200, path
        parser = _Forms()
        parser.feed(response.text)
        assert not parser.unnamed_typed, f"{path}: a form of typed text needs an id"
        typed = [form for form, holds_text in parser.forms.items() if holds_text]
        for form in typed:
            assert form in parser.switches, f"{path}: the switch does not keep #{form}"
            checked.append(f"{path}#{form}")
        if len(typed) == 1:
            assert not parser.header_links, f"{path}: the header's switch would lose #{typed[0]}"
    # The walk reached the pages that matter (a page losing its forms would go unnoticed).
    for page in ("/officer/login#", "/officer/password#", f"/officer/cases/{number}#note"):
        assert any(item.startswith(page) for item in checked), page
