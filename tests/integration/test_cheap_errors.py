"""Error answers that are encoded once and then served as stored bytes keep following each
request's language: a stored document never leaks into another language's answer."""

from __future__ import annotations

PROBLEM = "application/problem+json"


async def test_api_not_found_problem_follows_each_requests_language(client):
    # Alternate, so each language is answered after the other one's document was stored.
    for _ in range(2):
        english = await client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
        assert english.status_code == 404
        assert english.headers["content-type"] == PROBLEM
        assert english.json()["title"] == "Page not found"
        assert english.json()["status"] == 404
        indonesian = await client.get("/api/v1/no-such-thing")
        assert indonesian.json()["title"] == "Halaman tidak ditemukan"
        # The language cookie counts on the API too, after Accept-Language.
        client.cookies.set("lang", "en")
        by_cookie = await client.get("/api/v1/no-such-thing")
        assert by_cookie.json()["title"] == "Page not found"
        preferred = await client.get(
            "/api/v1/no-such-thing", headers={"Accept-Language": "id, en;q=0.5"}
        )
        assert preferred.json()["title"] == "Halaman tidak ditemukan"
        client.cookies.delete("lang")


async def test_a_problem_with_field_errors_is_not_taken_from_the_stored_documents(client):
    plain = await client.get("/api/v1/no-such-thing")
    refused = await client.post(
        "/api/v1/reports", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert refused.headers["content-type"] == PROBLEM
    assert refused.status_code in (400, 422)
    # Each refusal names its own fields; the cached 404 is untouched by it.
    assert "errors" in refused.json() or "detail" in refused.json()
    again = await client.get("/api/v1/no-such-thing")
    assert again.content == plain.content


async def test_pages_ignore_accept_language_but_follow_the_query_and_cookie(client):
    page = await client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert '<html lang="id">' in page.text
    page = await client.get("/no-such-page?lang=en")
    assert '<html lang="en">' in page.text
    client.cookies.set("lang", "en")
    page = await client.get("/no-such-page")
    assert '<html lang="en">' in page.text
    # A cookie that merely contains the letters (another cookie's value) chooses nothing.
    client.cookies.delete("lang")
    client.cookies.set("other", "xlang=en")
    page = await client.get("/no-such-page")
    assert '<html lang="id">' in page.text


async def test_stored_pages_name_their_charset_once(client):
    for path in ("/", "/informasi", "/track", "/no-such-page"):
        page = await client.get(path)
        assert page.headers["content-type"] == "text/html; charset=utf-8", path
