"""A burst of key derivations beyond the queue is refused at once, stores nothing, and the
reporter's typed report is kept on the page."""

from __future__ import annotations

import threading

import anyio
import anyio.lowlevel
import pytest

from tests.support.forms import VALID_REPORT, csrf_token
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from whistle.app import create_app
from whistle.crypto import DerivationQueueFull, KeyDerivationLimiter
from whistle.db.tables import Report


async def test_limiter_refuses_beyond_running_plus_waiting():
    limiter = KeyDerivationLimiter(1, max_waiting=1)
    release = threading.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(limiter.run, release.wait)
        group.start_soon(limiter.run, release.wait)
        await anyio.sleep(0.05)
        with pytest.raises(DerivationQueueFull):
            await limiter.run(sum, [1])
        release.set()
    assert await limiter.run(sum, [1, 2]) == 3, "capacity comes back once they finish"


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_busy_form_keeps_what_was_typed_and_stores_nothing(settings):
    import httpx

    app = create_app(settings.with_changes(kdf_submission_concurrency=1, kdf_queue=0))
    kdf = app.state.ctx.submission_kdf
    release = threading.Event()
    async with app.lifespan(), anyio.create_task_group() as group:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver.local"
        ) as client:
            token = await csrf_token(client, "/report")
            group.start_soon(kdf.run, release.wait)  # the only slot is taken
            await anyio.sleep(0.05)
            page = await client.post("/report", data={**VALID_REPORT, "_csrf_token": token})
            api = await client.post("/api/v1/reports", json=VALID_REPORT)
            release.set()
    assert page.status_code == 503
    assert page.headers["retry-after"]
    assert "sistem sedang sibuk" in page.text
    assert VALID_REPORT["description"] in page.text
    assert api.status_code == 503
    assert api.headers["content-type"].startswith("application/problem+json")
    assert await Report.count() == 0


async def test_a_submission_flood_leaves_officer_login_and_code_lookups_working(settings):
    """The submission budget is saturated (its slot busy, its queue full, clients still
    resubmitting and refused); an officer login and a code look-up get through all the same."""
    import httpx

    app = create_app(settings.with_changes(kdf_submission_concurrency=1, kdf_queue=2))
    ctx = app.state.ctx
    release = threading.Event()
    statuses: list[int] = []
    saturated = anyio.Event()
    async with app.lifespan():
        await make_officer(ctx, "siti", ["triage"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver.local"
        ) as client:
            filed = await client.post("/api/v1/reports", json=VALID_REPORT)
            code = filed.json()["tracking_code"]

            async def resubmit() -> None:
                while not release.is_set():
                    answer = await client.post("/api/v1/reports", json=VALID_REPORT)
                    statuses.append(answer.status_code)
                    if statuses.count(503) >= 20:
                        saturated.set()
                    await anyio.lowlevel.checkpoint()  # a refusal never suspends by itself

            async with anyio.create_task_group() as group:
                for _ in range(3):  # the running slot and the whole queue held
                    group.start_soon(ctx.submission_kdf.run, release.wait)
                await anyio.sleep(0.05)
                for _ in range(20):
                    group.start_soon(resubmit)
                try:
                    with anyio.fail_after(30):
                        await saturated.wait()
                    lookup = await client.post("/api/v1/session", json={"tracking_code": code})
                    token = await csrf_token(client, "/officer/login")
                    officer = await client.post(
                        "/officer/login",
                        data={
                            "username": "siti",
                            "password": DEFAULT_PASSWORD,
                            "_csrf_token": token,
                        },
                        follow_redirects=False,
                    )
                    during = list(statuses)
                finally:
                    release.set()
    assert lookup.status_code == 200 and lookup.json()["token"]
    assert officer.status_code == 303
    assert during.count(503) >= 20 and set(during) == {503}, "submissions were not all refused"
