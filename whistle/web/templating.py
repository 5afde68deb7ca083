"""Jinja set-up: autoescaped templates, gettext for every visible string, date formatting."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from whistle import i18n
from whistle.resources import TEMPLATES_DIR

# The office's wall clock (WIB). Times shown to people are in it.
WIB = timezone(timedelta(hours=7), "WIB")


def _date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(WIB).date()
    return format_date(value, format="long", locale=i18n.current_language.get())


def _datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(WIB)
    text = format_datetime(local, "d MMMM yyyy, HH.mm", locale=i18n.current_language.get())
    return f"{text} WIB"


def _rupiah(value: int | None) -> str:
    if value is None:
        return ""
    return "Rp" + format_decimal(value, locale="id")


def _configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["date_id"] = _date
    env.filters["datetime_id"] = _datetime
    env.filters["rupiah"] = _rupiah
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["current_language"] = i18n.current_language.get
    env.trim_blocks = True
    env.lstrip_blocks = True


def template_config() -> TemplateConfig:
    return TemplateConfig(
        directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_configure
    )
