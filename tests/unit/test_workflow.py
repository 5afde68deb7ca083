"""The state machine table on its own: well-formed, and ``check``/``allowed`` decide correctly."""

from __future__ import annotations

import pytest

from whistle.cases import workflow
from whistle.errors import Conflict, PermissionDenied, ValidationFailed
from whistle.reports import statuses as st


def test_every_transition_joins_known_statuses_and_has_a_label():
    for transition in workflow.TRANSITIONS.values():
        assert transition.sources <= set(st.STATUS_LABELS)
        assert transition.target in st.STATUS_LABELS
        assert transition.target not in transition.sources
        assert transition.label and transition.roles


def test_every_status_but_archived_has_a_way_out_and_every_status_is_reachable():
    targets = {t.target for t in workflow.TRANSITIONS.values()}
    assert targets | {st.RECEIVED} == set(st.STATUS_LABELS)
    for status in st.STATUS_LABELS:
        moves = workflow.allowed(status, {"triage"}, assigned=False)
        assert bool(moves) == (status != st.ARCHIVED), status


def test_who_may_move_a_case():
    def names(status, roles, assigned=False):
        return {t.name for t in workflow.allowed(status, roles, assigned=assigned)}

    assert names(st.RECEIVED, {"triage"}) == {"verify"}
    assert names(st.VERIFICATION, {"triage"}) == {"investigate", "not_actionable", "refer"}
    assert names(st.INVESTIGATION, {"triage"}) == {"conclude", "not_actionable", "refer"}
    assert names(st.CONCLUDED, {"triage"}) == {"archive", "reopen"}
    # An investigator concludes only the case they are assigned to, and does nothing else.
    assert names(st.INVESTIGATION, {"investigator"}, assigned=True) == {"conclude"}
    assert names(st.INVESTIGATION, {"investigator"}) == set()
    assert names(st.VERIFICATION, {"investigator"}, assigned=True) == set()
    for role in ("admin", "auditor"):
        for status in st.STATUS_LABELS:
            assert names(status, {role}, assigned=True) == set()


def test_check_refuses_illegal_moves_with_conflict():
    with pytest.raises(Conflict) as refused:
        workflow.check("archive", st.RECEIVED, {"triage"}, assigned=False, reason="x")
    assert "tidak diizinkan" in refused.value.detail
    with pytest.raises(Conflict):
        workflow.check("reopen", st.ARCHIVED, {"triage"}, assigned=False, reason="x")
    with pytest.raises(Conflict):
        workflow.check("nonsense", st.RECEIVED, {"triage"}, assigned=False, reason="x")


def test_check_refuses_roles():
    with pytest.raises(PermissionDenied):
        workflow.check("verify", st.RECEIVED, {"investigator"}, assigned=True, reason="x")
    with pytest.raises(PermissionDenied):
        workflow.check(
            "conclude",
            st.INVESTIGATION,
            {"investigator"},
            assigned=False,
            reason="x",
            outcome="not_substantiated",
        )


def test_check_names_every_bad_field():
    with pytest.raises(ValidationFailed) as failure:
        workflow.check(
            "conclude",
            st.INVESTIGATION,
            {"triage"},
            assigned=False,
            reason=" ",
            public_note="n" * (workflow.PUBLIC_NOTE_MAX + 1),
            outcome="",
        )
    assert set(failure.value.errors) == {"reason", "public_note", "outcome"}
    with pytest.raises(ValidationFailed) as referral:
        workflow.check("refer", st.VERIFICATION, {"triage"}, assigned=False, reason="x")
    assert set(referral.value.errors) == {"referred_to"}


def test_check_returns_clean_values():
    move = workflow.check(
        "refer",
        st.INVESTIGATION,
        {"triage"},
        assigned=False,
        reason="  bukan wewenang kami \r\n",
        public_note="",
        outcome="substantiated_ethics",  # ignored: referring carries no outcome
        referred_to=" ombudsman ",
        referral_detail="  Perwakilan   Jawa Barat \r\n",
    )
    assert move.transition.target == st.REFERRED
    assert move.reason == "bukan wewenang kami"
    assert move.public_note is None and move.outcome is None
    assert move.referred_to == "ombudsman"
    assert move.referral_detail == "Perwakilan   Jawa Barat"
