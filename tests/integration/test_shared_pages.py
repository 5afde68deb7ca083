"""Pages alike for every visitor are rendered once and served as bytes (whistle.web.templating
SharedPages); what is per visitor (a form's tokens) is still fresh on every answer."""

from __future__ import annotations

import re

import httpx

from whistle.app import create_app

CSRF_FIELD = "_csrf_token"

_TOKEN_FIELD = re.compile(r'name="(submission_token|_csrf_token)" value="([^"]*)"')


def _tokens(html: str) -> dict[str, str]:
    return dict(_TOKEN_FIELD.findall(html))


async def test_each_visitor_gets_their_own_form_tokens_on_a_shared_page(settings):
    app = create_app(settings)
    async with app.lifespan():
        pages = []
        for _ in range(2):  # two visitors, each with their own cookies
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="https://testserver.local"
            ) as visitor:
                pages.append((await visitor.get("/report")).text)
        first, second = (_tokens(page) for page in pages)
        assert set(first) == {"submission_token", CSRF_FIELD}
        assert all(first.values()) and all(second.values()), "every token is filled in"
        assert first["submission_token"] != second["submission_token"]
        assert first[CSRF_FIELD] != second[CSRF_FIELD]
        masked = [_TOKEN_FIELD.sub("", page) for page in pages]
        assert masked[0] == masked[1], "apart from the tokens the page is the same"
        marker = app.state.shared_pages.placeholder("")
        assert marker not in pages[0] and marker not in pages[1], "no placeholder left"


async def test_the_tracking_form_token_is_signed_for_each_answer(client):
    page = (await client.get("/track")).text
    assert re.search(r'name="_csrf_token" value="\d+\.[0-9a-f]{64}"', page)


async def test_a_cached_page_follows_the_language_of_each_request(client):
    indonesian = (await client.get("/")).text
    english = (await client.get("/?lang=en")).text
    again = (await client.get("/?lang=id")).text
    assert 'lang="id"' in indonesian and 'lang="en"' in english
    assert indonesian == again != english


async def test_the_cache_is_bounded_whatever_paths_are_asked_for(settings):
    app = create_app(settings)
    pages = app.state.shared_pages
    async with app.lifespan():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver.local"
        ) as client:
            for slug in ("biaya-resmi", "hak-pelapor", "pungli-calo-gratifikasi"):
                await client.get(f"/informasi/{slug}")
            assert len(pages) == 3
            pages._max_entries = 2
            await client.get("/")
            assert len(pages) == 2
