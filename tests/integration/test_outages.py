"""Database outages under load (issue 11 item 4): a real `whistle serve`, 20 clients filing
reports and reading pages while the database stops and comes back. Every answer is a page or
a 503 with Retry-After (never a 500, never a hang), every report acknowledged with a tracking
code opens afterwards, and the server recovers without a restart."""

from __future__ import annotations

import asyncio
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import TEST_ARGON2
from tests.support.forms import CODE, CSRF_FIELD, VALID_REPORT
from tests.support.officers import make_officer, session_for
from tests.support.postgres import PostgresCluster, free_port
from tests.support.server import running_server, server_env, serving_process
from whistle.app import create_app
from whistle.context import Context
from whistle.db import engine as db
from whistle.officers.auth import OFFICER_COOKIE
from whistle.settings import Settings

CLIENTS = 20
SUBMISSION_TOKEN = re.compile(r'name="submission_token" value="([^"]*)"')
REQUEST_TIMEOUT = 60.0  # far beyond any answer; reaching it means the server hung


@dataclass
class Load:
    """What the clients saw."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)
    missing_retry_after: int = 0
    hung: int = 0
    typed_text_lost: int = 0
    receipts_never_shown: int = 0

    def record(self, kind: str, response: httpx.Response) -> None:
        self.answers[(kind, response.status_code)] += 1
        if response.status_code == 503 and not response.headers.get("Retry-After"):
            self.missing_retry_after += 1

    def statuses(self) -> set[int]:
        return {status for _, status in self.answers}


async def _file_with_the_form(client: httpx.AsyncClient, load: Load, tag: str) -> None:
    """The browser's way: the form page, the POST, then the receipt with the code."""
    page = await client.get("/report")
    load.record("GET /report", page)
    if page.status_code != 200:
        return
    description = f"{VALID_REPORT['description']} form {tag}"
    fields = {
        **VALID_REPORT,
        "description": description,
        "_csrf_token": CSRF_FIELD.search(page.text).group(1),  # type: ignore[union-attr]
        "submission_token": SUBMISSION_TOKEN.search(page.text).group(1),  # type: ignore[union-attr]
    }
    sent = await client.post("/report", data=fields)
    load.record("form report", sent)
    if sent.status_code == 503:
        # Refused, and what was typed is still on the page to send again.
        if description not in sent.text:
            load.typed_text_lost += 1
        return
    if sent.status_code != 303:
        return
    # Stored: the receipt shows the code (read again until the database answers).
    for _ in range(600):
        receipt = await client.get(sent.headers["location"])
        load.record("GET receipt", receipt)
        if receipt.status_code == 200:
            load.acknowledged.append(CODE.search(receipt.text).group(1))  # type: ignore[union-attr]
            return
        await asyncio.sleep(0.1)
    load.receipts_never_shown += 1


async def _client_loop(base: str, load: Load, stop: asyncio.Event, number: int) -> None:
    async with httpx.AsyncClient(
        base_url=base, timeout=REQUEST_TIMEOUT, headers={"Origin": base}
    ) as client:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            try:
                if number % 4 == 1:
                    await _file_with_the_form(client, load, f"{number}/{round_}")
                elif number % 2 == 0:
                    body = {
                        **VALID_REPORT,
                        "description": f"{VALID_REPORT['description']} {number}/{round_}",
                    }
                    response = await client.post("/api/v1/reports", json=body)
                    load.record("api report", response)
                    if response.status_code in (200, 201):
                        load.acknowledged.append(response.json()["tracking_code"])
                else:
                    path = ["/", "/report", "/transparency", "/track"][round_ % 4]
                    load.record(f"GET {path}", await client.get(path))
            except httpx.TimeoutException:
                load.hung += 1
            await asyncio.sleep(0.05)


async def _drive(base: str, outage: Callable[[], None], recover: Callable[[], None]) -> Load:
    """Load for a while, then the outage for a while, then recovery until a report is stored
    again (a liveness bound, not a timing assertion)."""
    load = Load()
    stop = asyncio.Event()
    clients = [asyncio.create_task(_client_loop(base, load, stop, n)) for n in range(CLIENTS)]
    try:
        await asyncio.sleep(3)
        await asyncio.to_thread(outage)
        before = len(load.acknowledged)
        await asyncio.sleep(4)
        during_outage = Counter(load.answers)
        await asyncio.to_thread(recover)
        for _ in range(600):
            if len(load.acknowledged) > before + CLIENTS:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert any(status == 503 for _, status in during_outage), during_outage
    return load


def _opens(base: str, code: str) -> bool:
    response = httpx.post(base + "/api/v1/session", json={"tracking_code": code}, timeout=60)
    return response.status_code == 200


def _migrate(settings: Settings) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "whistle.cli", "migrate"],
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster of this test's own: it is stopped and started under load."""
    cluster = PostgresCluster.start()
    address = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", cluster.user]
    try:
        subprocess.run(
            [str(cluster.bindir / "createdb"), *address, "whistle"],
            check=True,
            capture_output=True,
        )
        yield cluster
    finally:
        cluster.stop()


def _check(load: Load, base: str) -> None:
    # Shown with -s: the figures of the run.
    print(f"\nanswers {dict(sorted(load.answers.items()))}; acknowledged {len(load.acknowledged)}")
    assert not load.hung, f"{load.hung} requests hung"
    assert 500 not in load.statuses(), load.answers
    assert not load.missing_retry_after, load.answers
    assert not load.typed_text_lost, load.answers
    assert not load.receipts_never_shown, load.answers
    # The empty report form needs no database.
    assert ("GET /report", 200) in load.answers
    assert not [kind for kind, status in load.answers if kind == "GET /report" and status != 200]
    assert load.acknowledged, load.answers
    # Every report acknowledged with a code opens with it, on the same (never restarted) server.
    lost = [code for code in load.acknowledged if not _opens(base, code)]
    assert not lost, f"{len(lost)} of {len(load.acknowledged)} acknowledged reports lost"


async def test_postgres_stopped_under_load(own_cluster, keys_dir, tmp_path):
    settings = Settings(database_url=own_cluster.url("whistle"), keys_dir=keys_dir, **TEST_ARGON2)
    _migrate(settings)
    with running_server(settings, tmp_path / "server.log") as base:
        load = await _drive(base, own_cluster.pause, own_cluster.resume)
        _check(load, base)
    log = (tmp_path / "server.log").read_text()
    assert "unhandled" not in log, log[-3000:]


def _ignore_file_size_signal() -> None:
    # A real full disk fails writes with ENOSPC; a file-size limit does so with EFBIG after
    # sending SIGXFSZ, which would kill the server: ignored, only the failing write remains.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


async def test_sqlite_disk_full_under_load(keys_dir, tmp_path):
    """A full disk, made with RLIMIT_FSIZE on the server process (no root or mount needed):
    no file of the server's may grow, so SQLite's writes fail (full or I/O error) while every
    read keeps working, including an officer's inbox and a reporter's tracking page."""
    database = tmp_path / "data" / "whistle.db"
    settings = Settings(database_url=f"sqlite:///{database}", keys_dir=keys_dir, **TEST_ARGON2)
    _migrate(settings)
    officer_cookie = await _officer_session(settings)
    port = free_port()
    command = [sys.executable, "-m", "whistle.cli", "serve", "--port", str(port)]
    with serving_process(
        command,
        port,
        tmp_path / "server.log",
        env=server_env(settings),
        preexec_fn=_ignore_file_size_signal,
    ) as (base, process):
        reporter_token = await asyncio.to_thread(_reporter_session, base)
        inbox = _InboxReader(base, officer_cookie, reporter_token)

        def disk_full() -> None:
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
            inbox.start()

        def disk_freed() -> None:
            inbox.stop()
            limit = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, limit)

        load = await _drive(base, disk_full, disk_freed)
        _check(load, base)
        assert inbox.reads and inbox.failures == [], inbox.failures


class _InboxReader:
    """Reads an officer's inbox and a reporter's report while writes fail, in a thread."""

    def __init__(self, base: str, officer_cookie: str, reporter_token: str) -> None:
        self.base = base
        self.officer_cookie = officer_cookie
        self.reporter_token = reporter_token
        self.reads = 0
        self.failures: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT) as client:
            client.cookies.set(OFFICER_COOKIE, self.officer_cookie)
            while not self._stop.is_set():
                reporter = {"Authorization": f"Bearer {self.reporter_token}"}
                for path, headers in (
                    ("/officer", {}),
                    ("/api/v1/report", reporter),
                    ("/track", {}),
                    ("/transparency", {}),
                ):
                    status = client.get(path, headers=headers).status_code
                    self.reads += 1
                    if status != 200:
                        self.failures.append((path, status))
                time.sleep(0.1)


def _reporter_session(base: str) -> str:
    """A report filed and opened with its code before the outage: the reporter's token."""
    code = httpx.post(base + "/api/v1/reports", json=VALID_REPORT, timeout=60).json()
    session = httpx.post(
        base + "/api/v1/session", json={"tracking_code": code["tracking_code"]}, timeout=60
    )
    return session.json()["token"]


async def _officer_session(settings: Settings) -> str:
    """A triage officer and a session cookie for them, made before the outage."""
    engine = await db.open_database(settings)
    try:
        ctx = Context.create(settings)
        await make_officer(ctx, "lead", ["triage"])
        return await session_for(ctx, "lead")
    finally:
        await db.close_database(engine)


async def test_report_form_during_a_postgres_outage_keeps_what_was_typed(own_cluster, keys_dir):
    """The form page needs no database; a refused send comes back with the typed text, a
    "coba lagi" message, Retry-After and a new submission token that files once it returns."""
    settings = Settings(
        database_url=own_cluster.url("whistle"),
        keys_dir=keys_dir,
        strict_templates=True,
        **TEST_ARGON2,
    )
    _migrate(settings)
    app = create_app(settings)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://testserver.local",
            follow_redirects=True,
        ) as client,
    ):
        own_cluster.pause()
        try:
            page = await client.get("/report")
            assert page.status_code == 200
            assert "tidak dapat dimuat saat ini" in page.text  # the exclusion list
            token = SUBMISSION_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
            typed = {**VALID_REPORT, "description": "Calo di loket 2 minta Rp300.000 lagi."}
            fields = {
                **typed,
                "_csrf_token": CSRF_FIELD.search(page.text).group(1),  # type: ignore[union-attr]
                "submission_token": token,
            }
            refused = await client.post("/report", data=fields)
        finally:
            own_cluster.resume()
        assert refused.status_code == 503
        assert refused.headers["Retry-After"]
        assert "penyimpanan data sedang terganggu" in refused.text
        assert typed["description"] in refused.text and 'value="Loket 3"' in refused.text
        new_token = SUBMISSION_TOKEN.search(refused.text).group(1)  # type: ignore[union-attr]
        assert new_token != token
        again = await client.post(
            "/report",
            data={
                **typed,
                "_csrf_token": CSRF_FIELD.search(refused.text).group(1),  # type: ignore[union-attr]
                "submission_token": new_token,
            },
        )
        assert again.status_code == 200 and CODE.search(again.text), again.text[-2000:]
