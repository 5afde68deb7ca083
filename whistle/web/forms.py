"""Typed HTML forms: a form sent back with a mistake comes back on its own page.

A form handler takes ``data: URLEncodedBody[SomeForm]`` (a msgspec Struct of bounded fields,
see whistle.inputs) or typed ``FromQuery`` parameters, and names the page that shows the form with
``opt=redisplay(render)``. When Litestar refuses the body or the query (wrong type, out of
bounds, control characters) or the service raises ValidationFailed, ``on_invalid_form`` calls
``render`` with a localised message per field and what was typed, instead of answering with a
bare 400. A bad path parameter, or a handler without a page, gets the ordinary error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.types import Receive, Scope, Send

from whistle.errors import ValidationFailed
from whistle.i18n import N_
from whistle.inputs import CONTROL_CHARACTERS
from whistle.web.errors import handle_domain_error, handle_http_exception

REDISPLAY_OPT = "redisplay"

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
