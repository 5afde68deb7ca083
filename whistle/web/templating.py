"""Jinja set-up: autoescaped templates, gettext for every visible string, date formatting,
label filters, and URLs from route names.

Label tables (code -> Indonesian message id) belong to their domain packages; the composition
root hands them in by name, and each becomes a filter that translates in the request's
language: ``{{ case.status | status_label }}``. ``options("status_label")`` lists a table's
codes with their translated labels, for menus. A code missing from its table shows as itself.
"""

from __future__ import annotations

import html
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import StrictUndefined, Undefined, pass_context
from jinja2.runtime import Context as JinjaContext
from litestar import MediaType, Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from litestar.utils.scope.state import ScopeState

from whistle import i18n
from whistle.audit.labels import describe_details
from whistle.clock import WIB
from whistle.resources import TEMPLATES_DIR

LabelTables = Mapping[str, Mapping[str, str]]


def _date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(WIB).date()
    return format_date(value, format="long", locale=i18n.current_language.get())


format_date_id = _date  # the same date words outside templates (the receipt's text file)


def _datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(WIB)
    text = format_datetime(local, "d MMMM yyyy, HH.mm", locale=i18n.current_language.get())
    return f"{text} WIB"


def _month(value: str) -> str:
    """``2026-11`` as the month's name and year in the reader's language."""
    year, month = (int(part) for part in value.split("-"))
    return format_date(date(year, month, 1), "MMMM yyyy", locale=i18n.current_language.get())


def _rupiah(value: int | None) -> str:
    if value is None:
        return ""
    return "Rp" + format_decimal(value, locale="id")


def _file_size(value: int) -> str:
    """A file size for people: bytes, KB or MB (decimal, in the reader's language)."""
    if value < 1000:
        return f"{value} B"
    unit, amount = ("KB", value / 1000) if value < 1_000_000 else ("MB", value / 1_000_000)
    return format_decimal(round(amount, 1), locale=i18n.current_language.get()) + " " + unit


def _label_filter(table: Mapping[str, str]) -> Callable[[JinjaContext, Any], str]:
    # pass_context keeps Jinja from folding a constant code at compile time, in whatever
    # language happened to be current then.
    @pass_context
    def label(_context: JinjaContext, code: Any) -> str:
        text = table.get(str(code))
        return i18n.gettext(text) if text is not None else str(code)

    return label


def _options(tables: LabelTables) -> Callable[[str], list[tuple[str, str]]]:
    def options(name: str) -> list[tuple[str, str]]:
        """The codes of label table ``name`` with their translated labels, in table order."""
        return [(code, i18n.gettext(text)) for code, text in tables[name].items()]

    return options


def _configure(
    labels: LabelTables, constants: Mapping[str, Any], strict: bool
) -> Callable[[JinjaTemplateEngine], None]:
    def configure(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.add_extension("jinja2.ext.i18n")
        env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
        env.filters["date_id"] = _date
        env.filters["datetime_id"] = _datetime
        env.filters["rupiah"] = _rupiah
        env.filters["file_size"] = _file_size
        env.filters["month_id"] = _month
        for name, table in labels.items():
            env.filters[name] = _label_filter(table)
        env.globals["options"] = _options(labels)
        env.globals["audit_details"] = lambda details: describe_details(details, labels)
        env.globals["languages"] = i18n.LANGUAGES
        env.globals["current_language"] = i18n.current_language.get
        env.globals.update(constants)
        # Strict: a variable a template expects but the handler did not pass is an error,
        # not an empty string.
        env.undefined = StrictUndefined if strict else Undefined
        env.trim_blocks = True
        env.lstrip_blocks = True

    return configure


def template_config(
    labels: LabelTables | None = None,
    *,
    constants: Mapping[str, Any] | None = None,
    strict: bool = False,
) -> TemplateConfig:
    """The template engine; ``labels`` maps filter names to label tables (see module doc), and
    ``constants`` are globals every template may read (the office's deadlines, from settings)."""
    return TemplateConfig(
        directory=TEMPLATES_DIR,
        engine=JinjaTemplateEngine,
        engine_callback=_configure(labels or {}, constants or {}, strict),
    )


# Litestar adds "; charset=utf-8" to text/ media types itself.
HTML = MediaType.HTML


class SharedPages:
    """Pages that are the same for every visitor (home, education, the track and report forms),
    rendered once per template, language, path and ``key``, then served as stored bytes.

    Rendering is most of what such a page costs. Nothing a visitor sent may enter the cached
    part: per-request values (a form's tokens) are rendered as random placeholders and put in
    by ``per_request`` on each answer. The cache is bounded (least recently used goes first),
    so a scan of made-up paths costs memory no more than ``max_entries`` pages.
    """

    def __init__(self, max_entries: int = 512) -> None:
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._max_entries = max_entries
        # Per process: a page cannot carry a placeholder it was not rendered with.
        self._marker = secrets.token_hex(8)

    def response(
        self,
        request: Request,
        template_name: str,
        context: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        *,
        key: Hashable = (),
        per_request: Mapping[str, str] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response[bytes]:
        """The page as bytes; ``context`` must depend only on ``key`` (and the settings). A
        callable ``context`` is called only when the page is rendered (not on a stored one)."""
        variables = sorted(per_request or {})
        cache_key = (
            template_name,
            i18n.current_language.get(),
            # What request.url.path says (the page's language links carry it), without
            # building a URL.
            request.scope.get("root_path", "") + request.scope["path"],
            key,
            tuple(variables),
        )
        body = self._pages.get(cache_key)
        if body is None:
            placeholders = {name: self.placeholder(name) for name in variables}
            values = context() if callable(context) else context or {}
            body = self._render(request, template_name, {**values, **placeholders})
            self._pages[cache_key] = body
            while len(self._pages) > self._max_entries:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(cache_key)
        for name, value in (per_request or {}).items():
            body = body.replace(self.placeholder(name).encode(), value.encode())
        return Response(body, media_type=HTML, status_code=status_code, headers=headers)

    def __len__(self) -> int:
        return len(self._pages)

    def placeholder(self, name: str) -> str:
        """What a per-request value ``name`` is rendered as, for contexts that nest it."""
        return f"{self._marker}-{name}"

    @staticmethod
    def _render(request: Request, template_name: str, context: Mapping[str, Any]) -> bytes:
        engine = request.app.template_engine
        assert engine is not None  # the app always has its Jinja engine
        template = Template(template_name, context=dict(context))
        variables = template.create_template_context(request)
        # The CSRF field, when the page has one, is a per-request value like any other.
        if "csrf_input" in context:
            variables["csrf_input"] = context["csrf_input"]
        return engine.get_template(template_name).render(**variables).encode()


def shared_pages(request: Request) -> SharedPages:
    """The application's cache of shared pages (``app.state.shared_pages``)."""
    pages: SharedPages = request.app.state.shared_pages
    return pages


def shared_page(request: Request, template_name: str, **options: Any) -> Response[bytes]:
    """``SharedPages.response`` with the application's cache."""
    return shared_pages(request).response(request, template_name, **options)


def csrf_input(request: Request) -> str:
    """The hidden CSRF field of this request's forms, as Litestar's ``csrf_input`` renders it."""
    token = ScopeState.from_scope(request.scope).csrf_token
    value = token if isinstance(token, str) else ""
    return f'<input type="hidden" name="_csrf_token" value="{html.escape(value)}" />'
