"""Typed HTML forms: a form sent back with a mistake comes back on its own page.

A form handler takes ``data: URLEncodedBody[SomeForm]`` (a msgspec Struct of bounded fields,
see whistle.inputs) or typed ``FromQuery`` parameters, and names the page that shows the form with
``opt=redisplay(render)``. When Litestar refuses the body or the query (wrong type, out of
bounds, control characters) or the service raises ValidationFailed, ``on_invalid_form`` calls
``render`` with a localised message per field and what was typed, instead of answering with a
bare 400. A bad path parameter, or a handler without a page, gets the ordinary error page.

The same page serves a form's language switch (``language_switch``): each language is a button
of the form being written in (templates/macros/forms.html ``language_buttons``), so switching
sends the form back to its own page, shown again in the chosen language with what was typed
and, after a refusal, its messages; the handler never runs, so nothing is checked or stored.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.response import Redirect
from litestar.types import Receive, Scope, Send

from whistle.errors import ValidationFailed
from whistle.i18n import N_, choose_language, current_language, message_ids
from whistle.inputs import CONTROL_CHARACTERS
from whistle.web.csrf import CSRF_FAILED, CSRF_FIELD, STREAMED_FORM_OPT, streamed_form_token
from whistle.web.errors import handle_domain_error, handle_http_exception
from whistle.web.language import language_cookie

REDISPLAY_OPT = "redisplay"
# Handler opt of the public forms that answer their own language buttons (the report form,
# whose files the switch drops, and the tracking form with its own token).
OWN_LANGUAGE_SWITCH_OPT = "own_language_switch"
# The language buttons' name, and the hidden fields that carry a refused form's messages
# ("field:message id") so that they come back in the other language.
SWITCH_FIELD = "switch_language"
REFUSED_FIELD = "refused"
_FIELD_NAME = re.compile(r"^[a-z_]{0,40}$")

INVALID = N_("Isian ini tidak valid.")
TOO_LONG = N_("Isian ini terlalu panjang.")
CONTROL = N_("Isian ini memuat karakter yang tidak diizinkan.")


@dataclass(frozen=True)
class FormFailure:
    """Why a form was refused: field -> message (a gettext id), and the values typed (text,
    or a list for a repeated field; control characters removed)."""

    errors: dict[str, str]
    values: dict[str, Any]


Render = Callable[[Request, FormFailure], Awaitable[Response[Any]]]


@dataclass(frozen=True)
class Redisplay:
    render: Render
    # Messages for particular fields, where the generic ones would not say what to do.
    messages: Mapping[str, str]


def redisplay(render: Render, **messages: str) -> dict[str, Redisplay]:
    """Handler ``opt``: show ``render``'s page again when the form is refused."""
    return {REDISPLAY_OPT: Redisplay(render, messages)}


def _message(litestar_message: str) -> str:
    # msgspec's wording names the rule broken (never the value): map it to a message for people.
    if "matching regex" in litestar_message:
        return CONTROL
    if "of length <=" in litestar_message:
        return TOO_LONG
    return INVALID


def _field_errors(exc: ValidationException, messages: Mapping[str, str]) -> dict[str, str] | None:
    """Field -> message, or None when something other than the body or query was refused."""
    items = exc.extra if isinstance(exc.extra, list) else []
    errors: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("source") not in ("body", "query"):
            return None
        key = str(item.get("key") or "")
        errors.setdefault(key, messages.get(key) or _message(str(item.get("message", ""))))
    return errors or None


async def typed_values(request: Request) -> dict[str, Any]:
    """What was sent, to fill the form again (the body is cached: reading it twice is free)."""
    source = request.query_params if request.method == "GET" else await request.form()
    values: dict[str, Any] = {}
    for name in source:
        items = [CONTROL_CHARACTERS.sub("", str(item)) for item in source.getall(name)]
        values[name] = items if len(items) > 1 else items[0]
    return values


class PageLater(Response[None]):
    """A page built by an async function: Litestar's exception handlers are synchronous, the
    pages that show a form need the database."""

    def __init__(self, build: Callable[[], Awaitable[Response[Any]]]) -> None:
        super().__init__(content=None)
        self._build = build

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> Any:
        async def send_page(scope: Scope, receive: Receive, send: Send) -> None:
            page = await self._build()
            await page.to_asgi_response(app, request, **kwargs)(scope, receive, send)

        return send_page


def on_invalid_form(request: Request, exc: ValidationException | ValidationFailed) -> Response[Any]:
    """Exception handler for the routers whose handlers take forms."""
    page: Redisplay | None = request.route_handler.opt.get(REDISPLAY_OPT)
    if isinstance(exc, ValidationFailed):
        errors: dict[str, str] | None = exc.errors
    else:
        errors = _field_errors(exc, page.messages) if page else None
    if page is None or errors is None:
        if isinstance(exc, ValidationFailed):
            return handle_domain_error(request, exc)
        return handle_http_exception(request, exc)

    async def build() -> Response[Any]:
        response = await page.render(request, FormFailure(errors, await typed_values(request)))
        response.status_code = 422
        return response

    return PageLater(build)


FORM_EXCEPTION_HANDLERS = {
    ValidationException: on_invalid_form,
    ValidationFailed: on_invalid_form,
}


def form_page_path(request: Request) -> str:
    """The page a form was on: the browser's same-origin Referer, else the path it was sent to
    without its last segment (/officer/cases/N/notes -> /officer/cases/N)."""
    parts = urlsplit(request.headers.get("referer", ""))
    host = request.headers.get("host", "")
    if parts.netloc.lower() == host.lower() and parts.path.startswith("/officer/"):
        return parts.path
    return request.url.path.rsplit("/", 1)[0] or "/officer"


def carried_errors(values: dict[str, Any]) -> dict[str, str]:
    """The messages a refused form carried through its language switch: only the interface's
    own texts (a forged one is dropped, so a switch never shows text the office did not write)."""
    items = values.get(REFUSED_FIELD, [])
    errors: dict[str, str] = {}
    for item in [items] if isinstance(items, str) else items:
        field, _, message = str(item).partition(":")
        if _FIELD_NAME.match(field) and message in message_ids():
            errors.setdefault(field, message)
    return errors


def _switch_requested(request: Request) -> bool:
    # Cheap test first: the buttons post to the form's action with ?lang=<code>.
    if b"lang=" not in request.scope.get("query_string", b""):
        return False
    media_type, _ = request.content_type
    return media_type == RequestEncodingType.URL_ENCODED


def _too_large_to_peek(request: Request) -> bool:
    # The upload routes read their own (large) bodies, unbounded by Litestar: peek only at a
    # form of known, ordinary size.
    length = request.content_length
    return length is None or length > request.app.state.ctx.settings.max_request_bytes


async def language_switch(request: Request) -> Response[Any] | None:
    """Before every handler: answer a form's language button, or None to go on as usual.

    POST (a form's button): the form's page again (its ``redisplay`` render) in the chosen
    language, with what was typed and the messages it carried, the choice remembered in the
    language cookie; the handler does not run. The CSRF middleware has checked the token
    already, except on the streamed upload routes, checked here. A form without a page goes
    back to the page it was on. GET (a filter form's button): the same address without the
    button, in the chosen language.
    """
    if request.method == "GET":
        # Most requests carry no switch: spare them parsing the query.
        if b"switch_language=" not in request.scope.get("query_string", b""):
            return None
        language = choose_language(request.query_params.get(SWITCH_FIELD))
        kept = [
            (name, value)
            for name, value in request.query_params.multi_items()
            if name not in (SWITCH_FIELD, "lang")
        ]
        query = urlencode(kept)
        return Redirect(
            path=f"{request.url.path}?{query}" if query else request.url.path,
            cookies=[_cookie(request, language)],
            status_code=303,
        )
    if request.method != "POST" or not _switch_requested(request):
        return None
    handler = request.route_handler
    if handler.opt.get(OWN_LANGUAGE_SWITCH_OPT):
        return None
    if handler.opt.get(STREAMED_FORM_OPT) and _too_large_to_peek(request):
        # Only a language button posts these forms urlencoded to ?lang=: never run the action.
        return Redirect(path=form_page_path(request), status_code=303)
    form = await request.form()
    if not form.get(SWITCH_FIELD):
        return None
    if handler.opt.get(STREAMED_FORM_OPT):
        sent, expected = form.get(CSRF_FIELD), streamed_form_token(request)
        if not (isinstance(sent, str) and expected and hmac.compare_digest(sent, expected)):
            raise PermissionDeniedException(detail=CSRF_FAILED)
    language = choose_language(str(form.get(SWITCH_FIELD)))
    current_language.set(language)
    page: Redisplay | None = handler.opt.get(REDISPLAY_OPT)
    if page is None:
        return Redirect(
            path=form_page_path(request), cookies=[_cookie(request, language)], status_code=303
        )
    values = await typed_values(request)
    errors = carried_errors(values)
    response = await page.render(request, FormFailure(errors, values))
    response.status_code = 422 if errors else 200
    response.cookies.append(_cookie(request, language))
    return response


def _cookie(request: Request, language: str) -> Any:
    return language_cookie(language, secure=not request.app.state.ctx.settings.development)
