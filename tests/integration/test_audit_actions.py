"""Every audit action that exists is left in the log exactly once by the real action that
records it.

``PERFORMERS`` maps each action in ``whistle.audit.actions.ALL_ACTIONS`` to a function that
prepares what the action needs and returns the action itself. An action added to the registry
without a performer here fails ``test_every_registered_action_has_a_performer`` and its own
parametrised case: add the performer with the service function.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import OFFICE_PASSPHRASE
from tests.support.cases import as_officer, attach_text_file, file_report
from tests.support.officers import DEFAULT_PASSWORD, make_officer
from tests.support.release import publish
from whistle.app import TEMPLATE_LABELS
from whistle.audit import actions, queries
from whistle.audit.checkpoint import take_checkpoint
from whistle.audit.labels import DETAIL_LABELS, describe_details
from whistle.audit.verify import verify_chain
from whistle.cases import retention
from whistle.cases import service as cases
from whistle.context import Context
from whistle.db.tables import AttachmentChunk, AuditEntry, Officer
from whistle.errors import Conflict
from whistle.i18n import LANGUAGES, current_language
from whistle.intake import service as intake
from whistle.officers import admin, login, policy, recovery, roster, throttle, totp
from whistle.officers import service as officers

NEW_PASSWORD = "another long passphrase 77"


@dataclass
class World:
    """Officers and one filed case, made before the action under test."""

    ctx: Context
    case_number: str
    triage_id: int
    investigator_id: int
    late_triage_id: int  # joined after the report was filed: holds no key to it
    tracking_code: str = ""  # the reporter's, for the reporter's own writes


Act = Callable[[], Awaitable[object]]
PERFORMERS: dict[str, Callable[[World], Awaitable[Act]]] = {}


def performs(action: str):
    def register(function: Callable[[World], Awaitable[Act]]):
        assert action not in PERFORMERS, f"two performers for {action}"
        PERFORMERS[action] = function
        return function

    return register


async def expect_refusal(call: Awaitable[object], error: type[Exception]) -> None:
    with pytest.raises(error):
        await call


@performs(actions.REPORT_RECEIVED)
async def _report_received(world: World) -> Act:
    return lambda: file_report(world.ctx)


@performs(actions.LOGIN)
async def _login(world: World) -> Act:
    return lambda: login.authenticate(world.ctx, "tri", DEFAULT_PASSWORD)


@performs(actions.LOGIN_FAILED)
async def _login_failed(world: World) -> Act:
    return lambda: expect_refusal(
        login.authenticate(world.ctx, "tri", "not the password at all"), login.LoginRefused
    )


@performs(actions.LOGOUT)
async def _logout(world: World) -> Act:
    result = await login.authenticate(world.ctx, "tri", DEFAULT_PASSWORD)
    return lambda: login.logout(world.ctx, result.token)


@performs(actions.PASSWORD_CHANGED)
async def _password_changed(world: World) -> Act:
    return lambda: officers.change_password(
        world.ctx,
        world.triage_id,
        current=DEFAULT_PASSWORD,
        new=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )


async def _enrolment_code(world: World) -> tuple[bytes, str]:
    """Start TOTP enrolment for the triage officer; return their private key and a valid code."""
    officer = await as_officer(world.ctx, "tri")
    await officers.totp_enrolment(officer.id, officer.private_key)
    row = await Officer.objects().where(Officer.id == officer.id).first()
    secret = totp.unseal_secret(officer.private_key, officer.id, row.totp_pending_sealed)
    return officer.private_key, totp.code_for(secret, totp.current_step())


@performs(actions.TOTP_ENABLED)
async def _totp_enabled(world: World) -> Act:
    private_key, code = await _enrolment_code(world)
    return lambda: officers.confirm_totp(world.ctx, world.triage_id, private_key, code)


@performs(actions.TOTP_DISABLED)
async def _totp_disabled(world: World) -> Act:
    private_key, code = await _enrolment_code(world)
    await officers.confirm_totp(world.ctx, world.triage_id, private_key, code)
    row = await Officer.objects().where(Officer.id == world.triage_id).first()
    secret = totp.unseal_secret(private_key, row.id, row.totp_secret_sealed)
    # The enrolment used this step's code: the next step's is the current one to give.
    next_code = totp.code_for(secret, totp.current_step() + 1)
    return lambda: officers.disable_totp(world.ctx, world.triage_id, DEFAULT_PASSWORD, next_code)


@performs(actions.RECOVERY_CODES_REGENERATED)
async def _recovery_codes_regenerated(world: World) -> Act:
    private_key, code = await _enrolment_code(world)
    await officers.confirm_totp(world.ctx, world.triage_id, private_key, code)
    row = await Officer.objects().where(Officer.id == world.triage_id).first()
    secret = totp.unseal_secret(private_key, row.id, row.totp_secret_sealed)
    next_code = totp.code_for(secret, totp.current_step() + 1)
    return lambda: officers.regenerate_recovery_codes(
        world.ctx, world.triage_id, DEFAULT_PASSWORD, next_code
    )


@performs(actions.OFFICER_ADDED)
async def _officer_added(world: World) -> Act:
    return lambda: make_officer(world.ctx, "newcomer", ["auditor"])


@performs(actions.OFFICER_DISABLED)
async def _officer_disabled(world: World) -> Act:
    return lambda: admin.disable_officer(world.ctx, world.investigator_id, actor="root")


@performs(actions.OFFICER_ENABLED)
async def _officer_enabled(world: World) -> Act:
    await admin.disable_officer(world.ctx, world.investigator_id, actor="root")
    return lambda: admin.enable_officer(world.ctx, world.investigator_id, actor="root")


@performs(actions.OFFICER_UNLOCKED)
async def _officer_unlocked(world: World) -> Act:
    return lambda: throttle.unlock_officer(world.ctx, world.investigator_id, actor="root")


@performs(actions.OFFICER_PASSWORD_RESET)
async def _officer_password_reset(world: World) -> Act:
    return lambda: admin.reset_password(
        world.ctx, world.investigator_id, "a fresh temporary passphrase 9", actor="root"
    )


@performs(actions.OFFICER_KEYS_CREATED)
async def _officer_keys_created(world: World) -> Act:
    temporary = "a fresh temporary passphrase 9"
    await admin.reset_password(world.ctx, world.investigator_id, temporary, actor="root")
    return lambda: officers.change_password(
        world.ctx,
        world.investigator_id,
        current=temporary,
        new=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )


@performs(actions.OFFICER_ROLES_CHANGED)
async def _officer_roles_changed(world: World) -> Act:
    return lambda: admin.set_roles(
        world.ctx, world.investigator_id, ["investigator", "auditor"], actor="root"
    )


@performs(actions.OFFICER_EMAIL_CHANGED)
async def _officer_email_changed(world: World) -> Act:
    return lambda: officers.set_email(
        world.investigator_id, "penyidik@imigrasi.example", actor="root"
    )


async def _aud_id() -> int:
    row = await Officer.select(Officer.id).where(Officer.username == "aud").first()
    return row["id"]


@performs(actions.ROLE_GRANT_REQUESTED)
async def _role_grant_requested(world: World) -> Act:
    aud = await _aud_id()
    return lambda: admin.set_roles(world.ctx, aud, ["auditor", "triage"], actor="root")


@performs(actions.CONTENT_ROLE_GRANTED)
async def _content_role_granted(world: World) -> Act:
    await make_officer(world.ctx, "root2", ["admin"])
    await admin.set_roles(world.ctx, await _aud_id(), ["auditor", "triage"], actor="root")
    [grant] = await admin.pending_grants()
    return lambda: admin.confirm_role_grant(world.ctx, grant.id, actor="root2")


@performs(actions.ROLE_GRANT_REJECTED)
async def _role_grant_rejected(world: World) -> Act:
    await admin.set_roles(world.ctx, await _aud_id(), ["auditor", "triage"], actor="root")
    [grant] = await admin.pending_grants()
    return lambda: admin.reject_role_grant(world.ctx, grant.id, actor="root")


@performs(actions.SETTING_CHANGED)
async def _setting_changed(world: World) -> Act:
    return lambda: policy.set_totp_required(True, actor="root")


@performs(actions.KEYS_RECOVERED)
async def _keys_recovered(world: World) -> Act:
    return lambda: recovery.recover_keys(world.ctx, "tri2", OFFICE_PASSPHRASE, actor="cli")


@performs(actions.KEYS_RETAGGED)
async def _keys_retagged(world: World) -> Act:
    return lambda: roster.retag(actor="cli")


@performs(actions.ROSTER_RESEALED)
async def _roster_resealed(world: World) -> Act:
    # A row whose MAC went missing (as after the upgrade that introduced it).
    await Officer.update({Officer.roster_mac: None}).where(Officer.id == world.late_triage_id)
    rows = await roster.untrusted_rows()
    return lambda: roster.reseal(world.ctx, OFFICE_PASSPHRASE, rows, actor="cli")


@performs(actions.CASE_OPENED)
async def _case_opened(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.open_case(world.ctx, officer, world.case_number)


@performs(actions.CASE_STATUS_CHANGED)
async def _case_status_changed(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.apply_transition(
        world.ctx, officer, world.case_number, "verify", reason="Mulai verifikasi"
    )


@performs(actions.CASE_TRIAGED)
async def _case_triaged(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.set_triage(
        officer, world.case_number, priority="high", retaliation_risk=True
    )


@performs(actions.CASE_ASSIGNED)
async def _case_assigned(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.assign(officer, world.case_number, world.investigator_id)


@performs(actions.CASE_UNASSIGNED)
async def _case_unassigned(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    await cases.assign(officer, world.case_number, world.investigator_id)
    return lambda: cases.unassign(officer, world.case_number, world.investigator_id)


@performs(actions.CASE_ACCESS_GRANTED)
async def _case_access_granted(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.grant_access(officer, world.case_number, world.late_triage_id)


@performs(actions.CASE_ACCESS_REVOKED)
async def _case_access_revoked(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    await cases.grant_access(officer, world.case_number, world.late_triage_id)
    return lambda: cases.revoke_access(officer, world.case_number, world.late_triage_id)


@performs(actions.CASE_RECUSED)
async def _case_recused(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.recuse(officer, world.case_number, "Terlapor adalah saudara saya.")


@performs(actions.CASE_NOTE_ADDED)
async def _case_note_added(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.add_note(officer, world.case_number, "Saksi dihubungi besok.")


@performs(actions.CASE_HOLD_SET)
async def _case_hold_set(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.set_hold(officer, world.case_number, "Diminta penyidik Polri.")


@performs(actions.CASE_HOLD_LIFTED)
async def _case_hold_lifted(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    await cases.set_hold(officer, world.case_number, "Diminta penyidik Polri.")
    return lambda: cases.lift_hold(officer, world.case_number)


@performs(actions.CASE_PURGED)
async def _case_purged(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    await cases.apply_transition(world.ctx, officer, world.case_number, "verify", reason="Cek.")
    await cases.apply_transition(
        world.ctx, officer, world.case_number, "not_actionable", reason="Tidak cukup bukti."
    )
    later = datetime.now(UTC) + timedelta(days=world.ctx.settings.not_actionable_retention_days + 1)
    return lambda: retention.purge(world.ctx, later)


@performs(actions.MESSAGE_SENT)
async def _message_sent(world: World) -> Act:
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.send_message(officer, world.case_number, "Di loket mana?")


@performs(actions.MESSAGE_RECEIVED)
async def _message_received(world: World) -> Act:
    # The reporter's message reaches the case (and the audit) at the release.
    report_id, data_key = await intake.unlock_with_code(world.ctx, world.tracking_code)
    await intake.send_reporter_message(world.ctx, report_id, data_key, "Loket 3.")
    return lambda: publish(world.ctx)


async def _identity_given(world: World) -> None:
    report_id, data_key = await intake.unlock_with_code(world.ctx, world.tracking_code)
    await intake.give_identity(world.ctx, report_id, data_key, "Budi", "0812")


@performs(actions.IDENTITY_GIVEN)
async def _identity_published(world: World) -> Act:
    await _identity_given(world)
    return lambda: publish(world.ctx)


@performs(actions.IDENTITY_REVEAL_REQUESTED)
async def _identity_reveal_requested(world: World) -> Act:
    await _identity_given(world)
    await publish(world.ctx)
    officer = await as_officer(world.ctx, "tri")
    return lambda: cases.request_identity_reveal(officer, world.case_number, "Saksi sidang.")


async def _second_officer_decides(world: World, *, approve: bool) -> Act:
    await _identity_given(world)
    await publish(world.ctx)
    officer = await as_officer(world.ctx, "tri")
    await cases.grant_access(officer, world.case_number, world.late_triage_id)
    await cases.request_identity_reveal(officer, world.case_number, "Saksi sidang.")
    second = await as_officer(world.ctx, "tri2")
    return lambda: cases.decide_identity_reveal(second, world.case_number, approve=approve)


@performs(actions.IDENTITY_REVEAL_APPROVED)
async def _identity_reveal_approved(world: World) -> Act:
    return await _second_officer_decides(world, approve=True)


@performs(actions.IDENTITY_REVEAL_REJECTED)
async def _identity_reveal_rejected(world: World) -> Act:
    return await _second_officer_decides(world, approve=False)


@performs(actions.EVIDENCE_ADDED)
async def _evidence_added(world: World) -> Act:
    return lambda: attach_text_file(world.ctx, "tri", world.case_number)


async def _read_download(officer, case_number: str, file_id) -> None:
    download = await cases.download_file(officer, case_number, file_id)
    async for _ in download.content:
        pass


@performs(actions.EVIDENCE_DOWNLOADED)
async def _evidence_downloaded(world: World) -> Act:
    file_id = await attach_text_file(world.ctx, "tri", world.case_number)
    officer = await as_officer(world.ctx, "tri")
    return lambda: _read_download(officer, world.case_number, file_id)


@performs(actions.EVIDENCE_DOWNLOAD_FAILED)
async def _evidence_download_failed(world: World) -> Act:
    file_id = await attach_text_file(world.ctx, "tri", world.case_number)
    await AttachmentChunk.update({AttachmentChunk.data: b"\x00" * 100}).where(
        AttachmentChunk.attachment == file_id
    )
    officer = await as_officer(world.ctx, "tri")
    return lambda: expect_refusal(_read_download(officer, world.case_number, file_id), Conflict)


@performs(actions.AUDIT_EXPORTED)
async def _audit_exported(world: World) -> Act:
    async def export() -> None:
        # The export records itself once it has read every row: run the whole stream.
        up_to_seq = await queries.export_head()
        audit_filter = queries.AuditFilter(actor="tri")
        async for _ in queries.export_csv(audit_filter, up_to_seq=up_to_seq, actor="aud"):
            pass

    return export


@performs(actions.AUDIT_CHECKPOINT)
async def _audit_checkpoint(world: World) -> Act:
    return lambda: take_checkpoint(world.ctx.keyring, actor="cli")


async def make_world(ctx: Context) -> World:
    triage_id = await make_officer(ctx, "tri", ["triage"])
    investigator_id = await make_officer(ctx, "inv", ["investigator"])
    await make_officer(ctx, "root", ["admin"])
    await make_officer(ctx, "aud", ["auditor"])
    case_number, tracking_code = await file_report(ctx)
    late_triage_id = await make_officer(ctx, "tri2", ["triage"])
    return World(ctx, case_number, triage_id, investigator_id, late_triage_id, tracking_code)


async def entries_after(seq: int) -> list[dict]:
    return await AuditEntry.select(AuditEntry.action).where(AuditEntry.seq > seq)


def test_every_registered_action_has_a_performer():
    assert set(PERFORMERS) - actions.ALL_ACTIONS == set(), "performers for unknown actions"
    missing = sorted(actions.ALL_ACTIONS - set(PERFORMERS))
    assert not missing, f"audit actions no test performs: {missing}"


@pytest.mark.parametrize("action", sorted(actions.ALL_ACTIONS))
async def test_the_action_leaves_exactly_one_entry(ctx, action):
    performer = PERFORMERS.get(action)
    assert performer is not None, f"no performer for {action}: add one in this file"
    world = await make_world(ctx)
    act = await performer(world)
    head = await AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq, ascending=False).first()
    await act()
    new_entries = [row["action"] for row in await entries_after(head["seq"])]
    assert new_entries == [action]
    assert (await verify_chain()).ok


def _keys(details: dict) -> set[str]:
    keys = set()
    for key, value in details.items():
        keys.add(key)
        if isinstance(value, dict):
            keys |= _keys(value)
    return keys


@pytest.mark.parametrize("engine_name", ["sqlite"])
@pytest.mark.parametrize("action", sorted(actions.ALL_ACTIONS))
async def test_the_action_details_read_in_human_words_in_both_languages(ctx, action):
    """The details each action really records are named in Indonesian and English: no technical
    key, no Python value (None, True, False) and no bare code reaches the reader."""
    world = await make_world(ctx)
    act = await PERFORMERS[action](world)
    head = await AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq, ascending=False).first()
    await act()
    [entry] = await AuditEntry.select(AuditEntry.details).where(AuditEntry.seq > head["seq"])
    details = entry["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert _keys(details or {}) <= set(DETAIL_LABELS), "a detail without a label"
    for language in LANGUAGES:
        token = current_language.set(language)
        try:
            pairs = describe_details(details or {}, TEMPLATE_LABELS)
            text = "; ".join(f"{label}: {value}" for label, value in pairs)
        finally:
            current_language.reset(token)
        for raw in ("None", "True", "False", "_", "{", "["):
            assert raw not in text, f"{action} in {language}: {text}"
        labels = {label for label, _ in pairs}
        assert not labels & _keys(details or {}), f"{action} in {language}: {text}"
