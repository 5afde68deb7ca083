"""A database copy without keys/ does not tell which officer a reporter excluded (threat model
3): officers' key wraps carry holder tags keyed by a secret in keys/, not officer ids.

The thief here holds a copy of the database and the roster (ids, usernames, public keys) and
tries every cheap way to tie a wrap to an officer; whoever is left without evidence is their
suspect for "the excluded one". Each of the three triage officers must stay equally suspect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import anyio
import pytest

from tests.conftest import Templates
from tests.integration.test_officers_cli import whistle
from tests.support.cases import as_officer, file_report
from tests.support.dump import copied_rows
from tests.support.forms import VALID_REPORT
from tests.support.officers import make_officer
from tests.support.release import publish
from whistle.app import create_app
from whistle.cases.inbox import InboxFilter, inbox, wrap_count
from whistle.cases.service import open_case
from whistle.context import Context
from whistle.db import engine as db
from whistle.db.tables import AuditEntry, Officer, PendingItem, ReportKey
from whistle.intake import service as intake
from whistle.intake.schemas import validate_report
from whistle.reports.envelope import holder_tag, untagged_wraps
from whistle.settings import Settings

# Columns that say nothing about the holder: the row's own id and the report it belongs to.
NOT_EVIDENCE = {"id", "report", "holder"}


def _needles(officer: dict) -> list[str]:
    """What a thief with the roster looks for: every public form of an officer's identity,
    and the tags they could compute without keys/."""
    public_key = bytes(officer["public_key"])
    ident = str(officer["id"])
    return [
        officer["username"],
        public_key.hex(),
        base64.b64encode(public_key).decode(),
        hashlib.sha256(public_key).hexdigest(),
        hashlib.sha256(public_key).hexdigest()[:16],
        hashlib.sha256(ident.encode()).hexdigest()[:32],
        hashlib.sha256(f"officer:{ident}".encode()).hexdigest()[:32],
        hmac.new(b"", f"officer:{ident}".encode(), hashlib.sha256).hexdigest()[:32],
    ]


def _evidence(officer: dict, wrap: dict) -> bool:
    values = [str(value) for name, value in wrap.items() if name not in NOT_EVIDENCE]
    ident = str(officer["id"])
    return any(value == ident for value in values) or any(
        needle in value for needle in _needles(officer) for value in values
    )


def _suspects(roster: list[dict], wraps: list[dict]) -> set[str]:
    """The thief's best attempt: the triage officers no wrap of the report can be tied to."""
    return {o["username"] for o in roster if not any(_evidence(o, wrap) for wrap in wraps)}


async def _roster(names: list[str]) -> list[dict]:
    return await Officer.select(Officer.id, Officer.username, Officer.public_key).where(
        Officer.username.is_in(names)
    )


async def _copy(settings: Settings, templates: Templates, table: str, path: Path) -> list[dict]:
    return await anyio.to_thread.run_sync(copied_rows, settings, templates.postgres, table, path)


async def test_a_database_copy_does_not_name_the_excluded_officer(
    ctx: Context, settings: Settings, templates: Templates, tmp_path: Path
):
    names = ["ani", "budi", "citra"]
    ids = {name: await make_officer(ctx, name, ["triage"]) for name in names}
    roster = await _roster(names)
    await intake.submit_report(ctx, validate_report(VALID_REPORT, excluded=[ids["budi"]]))

    # Before the release: the pending item's payload holds the wraps.
    pending = await _copy(settings, templates, "pending_item", tmp_path)
    assert len(pending) == 1
    payload = json.loads(bytes.fromhex(pending[0]["payload"]))
    wraps = [w for w in payload["wraps"] if w["holder"] == "officer"]
    assert len(wraps) == 2 and all("officer" not in wrap for wrap in wraps)
    assert _suspects(roster, wraps) == set(names)

    # After it: the report_key rows.
    await publish(ctx)
    stored = [
        row for row in await _copy(settings, templates, "report_key", tmp_path)
        if row["holder"] == "officer"
    ]  # fmt: skip
    assert len(stored) == 2
    assert all(row["officer"] in {"", "None", "\\N"} for row in stored), stored
    assert _suspects(roster, stored) == set(names)
    # Counting wraps per tag tells only that two distinct officers hold this report.
    assert len({row["holder_tag"] for row in stored}) == 2

    # The audit log counts no holders either.
    received = await AuditEntry.select(AuditEntry.details).where(
        AuditEntry.action == "report.received"
    )
    assert [json.loads(row["details"]) for row in received] == [{"category": "pungli"}]


async def test_the_excluded_officer_finds_no_trace_in_their_inbox(ctx: Context):
    ani = await make_officer(ctx, "ani", ["triage"])
    budi = await make_officer(ctx, "budi", ["triage"])
    await file_report(ctx, excluded=[budi])
    await file_report(ctx)
    assert await wrap_count(budi) == 1 and await wrap_count(ani) == 2
    page = await inbox(budi, InboxFilter(), due_soon_days=3)
    assert len(page.rows) == 1 and not page.has_next


async def test_wraps_from_before_tags_stop_start_up_until_retagged(database: Settings, ctx):
    ani = await make_officer(ctx, "ani", ["triage"])
    number, _ = await file_report(ctx)
    # As an installation from before holder tags holds its wraps.
    await ReportKey.update({ReportKey.officer: ani, ReportKey.holder_tag: None}).where(
        ReportKey.holder == "officer"
    )
    engine = db.current()
    try:
        refused = pytest.RaisesExc(RuntimeError, match="run `whistle keys retag` first")
        with pytest.RaisesGroup(refused, flatten_subgroups=True):
            async with create_app(database).lifespan():
                pass
    finally:
        db.bind(engine)

    # Every other command says the same in one line.
    listed = await whistle(database, "officer", "list")
    assert listed.exit_code != 0 and "run `whistle keys retag` first" in listed.output

    result = await whistle(database, "keys", "retag")
    assert result.exit_code == 0, result.output
    assert "1 key wrap(s) moved to holder tags" in result.output
    assert await untagged_wraps() == 0
    assert await ReportKey.count().where(ReportKey.holder_tag == holder_tag(ani)) == 1
    officer = await as_officer(ctx, "ani")
    assert (await open_case(ctx, officer, number)).report.description == VALID_REPORT["description"]
    async with create_app(database).lifespan():
        pass
    db.bind(engine)


async def test_a_pending_report_from_before_tags_is_published_under_tags(ctx: Context):
    ids = {name: await make_officer(ctx, name, ["triage"]) for name in ("ani", "budi")}
    await intake.submit_report(ctx, validate_report(VALID_REPORT, excluded=[ids["budi"]]))
    # Rewrite the payload as the version before tags wrote it: officer ids, no tags.
    row = await PendingItem.select(PendingItem.id, PendingItem.payload).first()
    body = json.loads(row["payload"])
    by_tag = {holder_tag(officer_id): officer_id for officer_id in ids.values()}
    body["v"] = 1
    body["wraps"] = [
        {"holder": w["holder"], "officer": by_tag.get(w["tag"]), "wrapped": w["wrapped"]}
        for w in body["wraps"]
    ]
    await PendingItem.update({PendingItem.payload: json.dumps(body).encode()}).where(
        PendingItem.id == row["id"]
    )
    await publish(ctx)
    assert await untagged_wraps() == 0
    assert await wrap_count(ids["ani"]) == 1 and await wrap_count(ids["budi"]) == 0
    (page_row,) = (await inbox(ids["ani"], InboxFilter(), due_soon_days=3)).rows
    officer = await as_officer(ctx, "ani")
    case = await open_case(ctx, officer, page_row.case_number)
    assert case.report.description == VALID_REPORT["description"]
