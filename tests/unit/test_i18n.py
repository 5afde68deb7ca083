"""The English catalog covers exactly the interface's message ids, each properly translated.

The ids are extracted from the source the way `make messages` does (same method map, same
keywords), so a new string that is not yet in the catalog, or still untranslated, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from whistle import i18n

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "whistle" / "locale" / "babel.cfg"
EN_CATALOG = ROOT / "whistle" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "gettext": None, "_": None}
FIX = "run `make messages`, then translate it in whistle/locale/en/LC_MESSAGES/messages.po"
# %(name)s / %s / %d (Python and Jinja newstyle gettext) and {name} (str.format).
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[#0 +-]*\d*(?:\.\d+)?[sdifrx]|%[sdif]|\{\w*\}")


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.fixture(scope="module")
def source_messages() -> dict[str, str | tuple[str, ...]]:
    """Message id (singular) -> the id as extracted (a tuple for plural forms)."""
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str | tuple[str, ...]] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        if message and _key(message):
            found[_key(message)] = message
    return found


@pytest.fixture(scope="module")
def catalog():
    with EN_CATALOG.open("rb") as handle:
        return read_po(handle, locale="en")


def _entries(catalog) -> dict:
    return {_key(message.id): message for message in catalog if message.id}


def test_extraction_finds_the_interface(source_messages):
    # Guards the test itself: a broken method map would extract nothing and pass vacuously.
    assert "Buat Laporan" in source_messages, "templates were not scanned"
    assert "Diterima" in source_messages, "N_() in Python was not scanned"
    assert "Pungutan liar (pungli)" in source_messages


def test_every_message_in_the_source_is_in_the_english_catalog(source_messages, catalog):
    missing = sorted(set(source_messages) - set(_entries(catalog)))
    assert not missing, f"not in the English catalog ({FIX}): {missing}"


def test_the_catalog_holds_no_message_the_source_no_longer_has(source_messages, catalog):
    stale = sorted(set(_entries(catalog)) - set(source_messages))
    assert not stale, f"obsolete entries in the English catalog (run `make messages`): {stale}"


def test_plural_forms_match_the_source(source_messages, catalog):
    entries = _entries(catalog)
    mismatched = [
        key
        for key, message in source_messages.items()
        if key in entries and isinstance(message, tuple) != isinstance(entries[key].id, tuple)
    ]
    assert not mismatched, f"singular/plural differs from the source ({FIX}): {mismatched}"


def test_every_message_has_a_translation_that_is_neither_empty_nor_fuzzy(catalog):
    untranslated = [
        _key(message.id)
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not (
                all(form.strip() for form in message.string)
                if isinstance(message.string, tuple)
                else message.string.strip()
            )
        )
    ]
    assert not untranslated, f"untranslated or fuzzy ({FIX}): {untranslated}"


def test_translations_keep_the_placeholders(catalog):
    broken = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(set(PLACEHOLDER.findall(" ".join(ids))))
        for text in strings:
            if sorted(set(PLACEHOLDER.findall(text))) != expected:
                broken.append((_key(message.id), text))
    assert not broken, f"placeholders differ from the message id: {broken}"


def test_gettext_translates_in_english_and_leaves_indonesian_alone():
    token = i18n.current_language.set("en")
    try:
        assert i18n.gettext("Buat Laporan") == "Make a Report"
        assert i18n.gettext("Halaman %(page)s") % {"page": 2} == "Page 2"
        assert i18n.gettext("teks yang tidak dikenal") == "teks yang tidak dikenal"
    finally:
        i18n.current_language.reset(token)
    assert i18n.gettext("Buat Laporan") == "Buat Laporan"
