"""Every public page, switched to English, shows no Indonesian interface text (and the switch
back to Indonesian shows Indonesian)."""

from __future__ import annotations

from tests.integration.test_english import _indonesian_sentences, assert_english, choose_english
from whistle.transparency.content import PAGES

PUBLIC_PAGES = [
    "/",
    "/report",
    "/track",
    "/track?expired=true",
    "/transparency",
    "/informasi",
    *[f"/informasi/{slug}" for slug in PAGES],
]


async def test_every_public_page_in_both_languages(client):
    await choose_english(client)
    for path in PUBLIC_PAGES:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert_english(page)
    await client.get("/bahasa?lang=id&next=/")
    for path in PUBLIC_PAGES:
        page = await client.get(path)
        assert '<html lang="id">' in page.text, path
    # The leftover check sees Indonesian text where there is some.
    home = await client.get("/")
    assert any(text in home.text for text in _indonesian_sentences())
