"""Interface language: Bahasa Indonesia first (the message ids), English from a catalog.

Message ids are the Indonesian text; whistle/locale/<lang>/LC_MESSAGES/messages.po holds the
other languages and is read with Babel at start-up, so there is no compile step.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache

from babel.messages.pofile import read_po
from babel.support import Translations

from whistle.resources import LOCALE_DIR

DEFAULT_LANGUAGE = "id"
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


@cache
def translations(language: str) -> _gettext.NullTranslations:
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po_file.exists():
        return _gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    result = Translations()
    for message in catalog:
        if message.id and message.string and not message.fuzzy:
            if isinstance(message.id, tuple | list):
                for index, text in enumerate(message.string):
                    result._catalog[(message.id[0], index)] = text
            elif isinstance(message.string, str):
                result._catalog[message.id] = message.string
    return result


@cache
def message_ids() -> frozenset[str]:
    """Every interface text the English catalog translates: the ids marked with N_ or _."""
    catalog = getattr(translations("en"), "_catalog", {})
    return frozenset(key for key in catalog if isinstance(key, str))


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def choose_language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE
