"""Education pages: every page and the fee table render from the shipped content files and from
an office override; the office's files are checked at start-up with messages naming the file."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from markupsafe import escape

from tests.integration.test_english import assert_english
from whistle.app import create_app
from whistle.i18n import LANGUAGES
from whistle.settings import Settings
from whistle.transparency.content import PAGES, SHIPPED_DIR, ContentError, load_content

DEADLINES = {"acknowledge_days": 7, "feedback_days": 90}


def shipped(language: str, slug: str) -> dict:
    """The shipped file's values, HTML-escaped as the page shows them."""
    data = tomllib.loads((SHIPPED_DIR / language / f"{slug}.toml").read_text(encoding="utf-8"))
    return _escaped(data)


def _escaped(value):
    if isinstance(value, str):
        return str(escape(value))
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    return value


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.lifespan():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver.local"
        ) as client:
            yield client


@pytest.fixture
def office_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "content"
    (directory / "id").mkdir(parents=True)
    (directory / "en").mkdir()
    return directory


OFFICE_FEES = """
title = "Tarif resmi Kantor Imigrasi Contoh"
[fees]
source = "PP 45 Tahun 2024, diperiksa oleh Subbag TU"
checked = 2026-12-01
note = "Dikonfirmasi kantor."
[[fees.row]]
service = "Paspor elektronik polikarbonat"
amount = 1234567
unit = "per permohonan"
[[section]]
heading = "Bayar di bank"
body = "Hanya dengan kode billing & bukti bayar."
"""


async def test_every_page_renders_from_the_shipped_files_in_both_languages(client):
    index = await client.get("/informasi")
    assert index.status_code == 200
    for slug in PAGES:
        assert f'href="/informasi/{slug}"' in index.text
    for language in LANGUAGES:
        for slug in PAGES:
            page = await client.get(f"/informasi/{slug}?lang={language}")
            assert page.status_code == 200, (language, slug)
            source = shipped(language, slug)
            assert f"<h1>{source['title']}</h1>" in page.text
            for section in source.get("section", []):
                assert f"<h2>{section['heading']}</h2>" in page.text
    assert (await client.get("/informasi/tidak-ada")).status_code == 404


async def test_the_fee_table_renders_with_its_source_and_check_date(client):
    page = await client.get("/informasi/biaya-resmi")
    fees = shipped("id", "biaya-resmi")["fees"]
    for row in fees["row"]:
        assert f'<th scope="row">{row["service"]}</th>' in page.text
    assert "Rp350.000" in page.text and "Rp950.000" in page.text and "Rp1.000.000" in page.text
    assert "PP 28 Tahun 2019" in page.text and "28 November 2026" in page.text
    assert "wajib dikonfirmasi oleh kantor" in page.text
    english = await client.get("/informasi/biaya-resmi?lang=en")
    assert "Rp350.000" in english.text and "must be confirmed by the office" in english.text


async def test_deadlines_on_the_pages_come_from_the_settings(settings):
    changed = settings.with_changes(acknowledge_days=5, feedback_days=60)
    async for client in _client(changed):
        page = await client.get("/informasi/setelah-melapor")
        assert "paling lambat 5 hari kalender" in page.text
        assert "paling lambat 60 hari kalender" in page.text
        english = await client.get("/informasi/tanya-jawab?lang=en")
        assert "within 5 calendar days" in english.text


async def test_an_office_file_replaces_the_shipped_one(settings, office_dir):
    (office_dir / "id" / "biaya-resmi.toml").write_text(OFFICE_FEES, encoding="utf-8")
    async for client in _client(settings.with_changes(content_dir=office_dir)):
        page = await client.get("/informasi/biaya-resmi")
        assert "<h1>Tarif resmi Kantor Imigrasi Contoh</h1>" in page.text
        assert '<th scope="row">Paspor elektronik polikarbonat</th>' in page.text
        assert "Rp1.234.567" in page.text and "1 Desember 2026" in page.text
        # Text is escaped, never taken as HTML.
        assert "kode billing &amp; bukti bayar" in page.text
        # Pages and languages the office did not override keep the shipped text.
        english = await client.get("/informasi/biaya-resmi?lang=en")
        assert shipped("en", "biaya-resmi")["title"] in english.text
        other = await client.get("/informasi/kontak")
        assert shipped("id", "kontak")["title"] in other.text


def _write(office_dir: Path, text: str, name: str = "id/kontak.toml") -> Path:
    path = office_dir / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('title = "Kontak"\n[[section]\n', "not valid TOML"),
        ('judul = "Kontak"', "unknown key(s) in the page: judul"),
        ('title = ""', "needs `title` as non-empty text"),
        (
            'title = "K"\n[[section]]\nheading = "A"\nbody = "<script>x</script>"',
            "HTML is not allowed",
        ),
        (
            'title = "K"\n[[section]]\nheading = "A"\nbody = "[klik](javascript:alert(1))"',
            "link 'javascript:alert(1' in section 1",
        ),
        (
            'title = "K"\n[[section]]\nheading = "A"\nbody = "dalam {hari} hari"',
            "unknown placeholder {hari} in `body` of section 1",
        ),
        (
            'title = "K"\n[fees]\nsource = "PP"\nnote = "n"\nchecked = "kemarin"\n'
            '[[fees.row]]\nservice = "s"\namount = 1',
            "`checked` as a date",
        ),
        (
            'title = "K"\n[fees]\nsource = "PP"\nnote = "n"\nchecked = 2026-11-28\n'
            '[[fees.row]]\nservice = "s"\namount = "350.000"',
            "fee row 1 needs `amount` as a whole number",
        ),
        (
            'title = "K"\n[[section]]\nheading = "A"\nbody = """\nteks\n- butir\n"""',
            "mixes list lines and text",
        ),
    ],
)
def test_a_broken_office_file_is_refused_naming_the_file_and_the_problem(office_dir, text, problem):
    path = _write(office_dir, text)
    with pytest.raises(ContentError) as refused:
        load_content(office_dir, DEADLINES)
    assert str(path) in str(refused.value)
    assert problem in str(refused.value)


def test_a_misspelt_file_name_is_refused(office_dir):
    path = _write(office_dir, 'title = "Biaya"', "id/biaya.toml")
    with pytest.raises(ContentError, match="not a known page") as refused:
        load_content(office_dir, DEADLINES)
    assert str(path) in str(refused.value)


def test_a_missing_content_directory_is_refused(tmp_path):
    with pytest.raises(ContentError, match="does not exist"):
        load_content(tmp_path / "nowhere", DEADLINES)


async def test_start_up_stops_on_a_broken_office_file(settings, office_dir):
    _write(office_dir, 'title = "Kontak"\nhalo = 1')
    with pytest.raises(ContentError, match=r"kontak\.toml: unknown key"):
        create_app(settings.with_changes(content_dir=office_dir))


def test_the_content_directory_setting():
    assert Settings.from_env({}).content_dir is None
    chosen = Settings.from_env({"WHISTLE_CONTENT_DIR": "/srv/whistle/konten"})
    assert chosen.content_dir == Path("/srv/whistle/konten")


async def test_education_pages_in_english_show_no_indonesian(client):
    for slug in PAGES:
        page = await client.get(f"/informasi/{slug}?lang=en")
        assert_english(page, shipped("en", slug)["title"])
        indonesian = shipped("id", slug)
        assert indonesian["title"] not in page.text
        # Names such as SP4N-LAPOR! read the same in both languages.
        same = {section["heading"] for section in shipped("en", slug).get("section", [])}
        for section in indonesian.get("section", []):
            if section["heading"] not in same:
                assert f"<h2>{section['heading']}</h2>" not in page.text, (slug, section)
