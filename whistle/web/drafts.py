"""A form an officer was writing when their session expired comes back after the login.

A POST that finds no live session but carries an officer cookie (an expired session, not a
stranger) is answered with the login page instead of a redirect. What was typed crosses that
page as one hidden field, AES-GCM under a subkey of keys/web_secret together with the time it
was sealed (it opens for DRAFT_MINUTES); passwords, codes and the CSRF token are never kept.
After the login the draft moves onto the new session row, encrypted under that session's own
key, and the page that shows the form takes it once (``take``) and fills the form in. The text
is never in a URL, a cookie or a log; it is shown only on a page the officer who logs in may
open (a case page needs that case's key).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from litestar import Request, Response
from litestar.response import Template

from whistle import sessions
from whistle.errors import NotAuthenticated
from whistle.i18n import N_
from whistle.officers.auth import OFFICER_COOKIE
from whistle.web.csrf import CSRF_FIELD
from whistle.web.errors import handle_domain_error
from whistle.web.forms import (
    REFUSED_FIELD,
    SWITCH_FIELD,
    PageLater,
    form_page_path,
    typed_values,
)

DRAFT_FIELD = "draft"
DRAFT_MINUTES = 30
# Larger drafts are not kept (the longest officer text field is 20,000 characters).
MAX_DRAFT_BYTES = 96 * 1024
_NEVER_KEPT = frozenset({CSRF_FIELD, DRAFT_FIELD, "next", REFUSED_FIELD, SWITCH_FIELD})
_SECRET_WORDS = ("password", "passphrase", "code", "secret", "token")
SESSION_ENDED = N_(
    "Sesi Anda sudah berakhir. Masuk lagi: isian Anda belum disimpan dan akan dikembalikan ke "
    "formulirnya."
)


@dataclass(frozen=True)
class Draft:
    """What was typed into one form: the path it was sent to, the page that showed it."""

    action: str
    page: str
    values: dict[str, Any]

    def encode(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def decode(cls, data: bytes) -> Draft | None:
        try:
            item = json.loads(data)
            return cls(str(item["action"]), str(item["page"]), dict(item["values"]))
        except (ValueError, KeyError, TypeError):
            return None


def _kept(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in values.items()
        if name not in _NEVER_KEPT and not any(word in name.lower() for word in _SECRET_WORDS)
    }


def seal(key: bytes, draft: Draft, *, now: float | None = None) -> str | None:
    """The draft for the login page's hidden field, or None when it is too large to carry."""
    body = draft.encode()
    if len(body) > MAX_DRAFT_BYTES:
        return None
    return sessions.seal_page_draft(key, body, now=time.time() if now is None else now)


def open_sealed(key: bytes, sealed: str, *, now: float | None = None) -> Draft | None:
    """The draft sealed by ``seal`` if it is genuine and not older than DRAFT_MINUTES."""
    plain = sessions.open_page_draft(
        key, sealed, now=time.time() if now is None else now, max_age=DRAFT_MINUTES * 60
    )
    return Draft.decode(plain) if plain is not None else None


def on_expired_session(request: Request, exc: NotAuthenticated) -> Response[Any]:
    """Exception handler of the /officer router for NotAuthenticated: an officer form sent with
    an expired session gets the login page carrying what was typed; anything else is sent to
    the login page as before."""
    if request.method != "POST" or not request.cookies.get(OFFICER_COOKIE):
        return handle_domain_error(request, exc)
    ctx = request.app.state.ctx

    async def build() -> Response[Any]:
        values = _kept(await typed_values(request))
        page = form_page_path(request)
        sealed = seal(ctx.keyring.draft_key, Draft(request.url.path, page, values))
        return Template(
            template_name="officer/login.html",
            context={
                "officer": None,
                "next": page,
                "values": {},
                "error": SESSION_ENDED if sealed else None,
                "draft": sealed or "",
            },
            status_code=401,
        )

    return PageLater(build)


async def keep_for_session(ctx: Any, token: str, sealed: str) -> Draft | None:
    """After a successful login: move a sealed draft onto the new session; returns it (so the
    login can send the officer back to its page) or None if it is not a genuine, recent one."""
    if not sealed:
        return None
    draft = open_sealed(ctx.keyring.draft_key, sealed)
    if draft is not None:
        await sessions.keep_draft(token, sessions.OFFICER, draft.encode())
    return draft


async def take(request: Request) -> Draft | None:
    """The draft kept on this officer's session, taken (it is shown once)."""
    data = await sessions.take_draft(request.cookies.get(OFFICER_COOKIE), sessions.OFFICER)
    return Draft.decode(data) if data else None
