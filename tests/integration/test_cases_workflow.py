"""The workflow on real databases: every transition, every refusal, and what the reporter sees."""

from __future__ import annotations

import json

import pytest

from tests.support.cases import as_officer, file_report, post_case, snapshot
from tests.support.forms import VALID_REPORT, post_form, submit_report_form
from tests.support.officers import logged_in, make_officer
from whistle.audit import actions
from whistle.cases import service, workflow
from whistle.db.tables import AuditEntry, Report, StatusEvent
from whistle.errors import Conflict, PermissionDenied, ValidationFailed
from whistle.reports import statuses as st

# Each step: (transition, status expected after it). Three cases together cross every edge.
WALKS = [
    [
        ("verify", st.VERIFICATION),
        ("not_actionable", st.NOT_ACTIONABLE),
        ("reopen", st.VERIFICATION),
        ("refer", st.REFERRED),
        ("reopen", st.VERIFICATION),
        ("investigate", st.INVESTIGATION),
        ("not_actionable", st.NOT_ACTIONABLE),
        ("reopen", st.VERIFICATION),
        ("investigate", st.INVESTIGATION),
        ("refer", st.REFERRED),
        ("reopen", st.VERIFICATION),
        ("investigate", st.INVESTIGATION),
        ("conclude", st.CONCLUDED),
        ("reopen", st.VERIFICATION),
        ("investigate", st.INVESTIGATION),
        ("conclude", st.CONCLUDED),
        ("archive", st.ARCHIVED),
    ],
    [("verify", st.VERIFICATION), ("not_actionable", st.NOT_ACTIONABLE), ("archive", st.ARCHIVED)],
    [("verify", st.VERIFICATION), ("refer", st.REFERRED), ("archive", st.ARCHIVED)],
]


def _fields(name: str) -> dict:
    return {
        "conclude": {"outcome": "substantiated_discipline"},
        "refer": {"referred_to": "ombudsman"},
    }.get(name, {})


def test_the_walks_cross_every_edge_of_the_state_machine():
    edges = {(t.name, source) for t in workflow.TRANSITIONS.values() for source in t.sources}
    crossed = set()
    for walk in WALKS:
        status = st.RECEIVED
        for name, target in walk:
            crossed.add((name, status))
            assert workflow.TRANSITIONS[name].target == target
            status = target
    assert crossed == edges


async def test_a_case_goes_through_every_transition(ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "ivan", ["investigator"])
    triage = await as_officer(ctx, "tina")
    investigator = await as_officer(ctx, "ivan")
    for walk in WALKS:
        number, _ = await file_report(ctx)
        await service.assign(triage, number, investigator.id)
        for step, (name, target) in enumerate(walk):
            before = await snapshot(number)
            # The assigned investigator records the first conclusion; triage does the rest.
            actor = investigator if name == "conclude" and step == 12 else triage
            result = await service.apply_transition(
                ctx,
                actor,
                number,
                name,
                reason=f"alasan {step}",
                public_note=f"catatan publik {step}" if step % 2 else None,
                **_fields(name),
            )
            assert result == target
            after = await snapshot(number)
            row = after["report"]
            assert row["status"] == target
            assert after["events"] == before["events"] + 1
            assert after["audit"] == before["audit"] + 1
            # Leaving "received" acknowledged the report and started the feedback deadline.
            assert row["acknowledged_at"] is not None and row["feedback_due"] is not None
            if target == st.ARCHIVED:
                # Archiving keeps the outcome (if any) the case was closed with.
                assert row["outcome"] == before["report"]["outcome"]
            else:
                expected = "substantiated_discipline" if target == st.CONCLUDED else None
                assert row["outcome"] == expected
            if target == st.REFERRED:
                assert row["referred_to"] == "ombudsman"
            if name == "reopen":
                assert row["referred_to"] is None and row["concluded_at"] is None
            entry = await AuditEntry.select().order_by(AuditEntry.seq, ascending=False).first()
            assert entry["action"] == actions.CASE_STATUS_CHANGED
            assert entry["actor"] == actor.username
            assert entry["case_number"] == number
            details = json.loads(entry["details"])
            assert details["from"] == before["report"]["status"] and details["to"] == target
            # Never the text of the reason or of the note.
            assert "alasan" not in entry["details"] and "catatan" not in entry["details"]
        view = await service.open_case(ctx, triage, number)
        assert [item.to_status for item in view.timeline] == [st.RECEIVED] + [t for _, t in walk]
        assert view.timeline[1].reason == "alasan 0"
        assert view.timeline[2].public_note == "catatan publik 1"


async def test_acknowledging_sets_deadlines_from_settings(ctx):
    await make_officer(ctx, "tina", ["triage"])
    triage = await as_officer(ctx, "tina")
    number, _ = await file_report(ctx)
    row = await Report.select().where(Report.case_number == number).first()
    assert row["acknowledged_at"] is None and row["feedback_due"] is None
    await service.apply_transition(ctx, triage, number, "verify", reason="mulai")
    row = await Report.select().where(Report.case_number == number).first()
    delta = row["feedback_due"] - row["acknowledged_at"]
    assert delta.days == ctx.settings.feedback_days


async def _refused_everywhere(ctx, triage, number: str, status: str) -> None:
    """Every transition illegal from ``status`` raises Conflict and changes nothing."""
    for name, transition in workflow.TRANSITIONS.items():
        if status in transition.sources:
            continue
        before = await snapshot(number)
        with pytest.raises(Conflict):
            await service.apply_transition(
                ctx, triage, number, name, reason="alasan", **_fields(name)
            )
        assert await snapshot(number) == before, (name, status)


async def test_every_illegal_transition_is_refused_and_changes_nothing(ctx):
    await make_officer(ctx, "tina", ["triage"])
    triage = await as_officer(ctx, "tina")
    number, _ = await file_report(ctx)
    path = [
        (None, st.RECEIVED),
        ("verify", st.VERIFICATION),
        ("investigate", st.INVESTIGATION),
        ("conclude", st.CONCLUDED),
        ("reopen", st.VERIFICATION),
        ("not_actionable", st.NOT_ACTIONABLE),
        ("reopen", st.VERIFICATION),
        ("refer", st.REFERRED),
        ("archive", st.ARCHIVED),
    ]
    seen = set()
    for name, status in path:
        if name:
            await service.apply_transition(
                ctx, triage, number, name, reason="maju", **_fields(name)
            )
        await _refused_everywhere(ctx, triage, number, status)
        seen.add(status)
    assert seen == set(st.STATUS_LABELS)
    # An unknown transition name is refused the same way.
    with pytest.raises(Conflict):
        await service.apply_transition(ctx, triage, number, "delete", reason="x")


async def test_roles_and_fields_are_checked_before_anything_is_written(ctx):
    await make_officer(ctx, "tina", ["triage"])
    await make_officer(ctx, "ivan", ["investigator"])
    triage = await as_officer(ctx, "tina")
    investigator = await as_officer(ctx, "ivan")
    number, _ = await file_report(ctx)
    await service.assign(triage, number, investigator.id)
    before = await snapshot(number)
    # An assigned investigator may not verify (triage's move).
    with pytest.raises(PermissionDenied):
        await service.apply_transition(ctx, investigator, number, "verify", reason="x")
    with pytest.raises(ValidationFailed) as missing_reason:
        await service.apply_transition(ctx, triage, number, "verify", reason="   ")
    assert set(missing_reason.value.errors) == {"reason"}
    assert await snapshot(number) == before
    await service.apply_transition(ctx, triage, number, "verify", reason="x")
    before = await snapshot(number)
    with pytest.raises(ValidationFailed) as referral:
        await service.apply_transition(
            ctx, triage, number, "refer", reason="x", referred_to="Ombudsman RI"
        )
    assert set(referral.value.errors) == {"referred_to"}
    await service.apply_transition(ctx, triage, number, "investigate", reason="x")
    before = await snapshot(number)
    with pytest.raises(ValidationFailed) as outcome:
        await service.apply_transition(ctx, triage, number, "conclude", reason="x", outcome="maybe")
    assert set(outcome.value.errors) == {"outcome"}
    assert await snapshot(number) == before


async def test_reporter_reads_public_notes_on_track_but_never_reasons(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    code = await submit_report_form(client)
    await logged_in(client, ctx, "tina")
    row = await Report.select(Report.case_number).first()
    number = row["case_number"]
    response = await post_case(
        client,
        number,
        "transition",
        {
            "transition": "verify",
            "reason": "Rahasia internal: saksi kunci",
            "public_note": "Terima kasih, laporan Anda sedang kami verifikasi.",
        },
    )
    assert response.status_code == 200
    assert str(response.url).endswith(f"/officer/cases/{number}")
    track = await post_form(client, "/track", {"tracking_code": code})
    assert track.status_code == 200
    assert "Terima kasih, laporan Anda sedang kami verifikasi." in track.text
    assert "Dalam Verifikasi" in track.text
    assert "Rahasia internal" not in track.text
    assert VALID_REPORT["description"] in track.text


async def test_transition_form_mistakes_keep_values_and_change_nothing(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    await client.get(f"/officer/cases/{number}")
    before = await snapshot(number)
    response = await post_case(
        client,
        number,
        "transition",
        {"transition": "verify", "reason": "", "public_note": "catatan yang diketik"},
    )
    assert response.status_code == 422
    assert "Tuliskan alasan perubahan status." in response.text
    assert "catatan yang diketik" in response.text
    # post_case opened the page again (to read the CSRF token): a second view in the same
    # session adds no audit line (issue 12), so nothing at all changed.
    after = await snapshot(number)
    assert after["report"] == before["report"] and after["events"] == before["events"]
    assert after["audit"] == before["audit"]


async def test_an_illegal_move_over_http_is_a_clear_409(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    token_page = await client.get(f"/officer/cases/{number}")
    assert token_page.status_code == 200
    before = await snapshot(number)
    response = await post_case(
        client, number, "transition", {"transition": "archive", "reason": "x"}
    )
    assert response.status_code == 409
    assert "tidak diizinkan" in response.text
    after = await snapshot(number)
    assert after["report"] == before["report"] and after["events"] == before["events"]


async def test_missing_csrf_token_is_refused_and_changes_nothing(client, ctx):
    await make_officer(ctx, "tina", ["triage"])
    number, _ = await file_report(ctx)
    await logged_in(client, ctx, "tina")
    before = await snapshot(number)
    response = await client.post(
        f"/officer/cases/{number}/transition", data={"transition": "verify", "reason": "x"}
    )
    assert response.status_code == 403
    assert await snapshot(number) == before
    assert await StatusEvent.count() == 1
