"""Every audit action has a label, and the case-history partial renders a case's entries."""

from __future__ import annotations

from datetime import UTC, datetime

from whistle.app import TEMPLATE_LABELS
from whistle.audit.actions import ALL_ACTIONS
from whistle.audit.labels import ACTION_LABELS
from whistle.audit.service import GENESIS_HASH, AuditRecord
from whistle.web.templating import template_config


def test_every_action_has_a_label():
    assert set(ACTION_LABELS) == ALL_ACTIONS


def render(name: str, labels=TEMPLATE_LABELS, **context) -> str:
    config = template_config(labels, strict=True)
    return config.engine_instance.get_template(name).render(**context)


def test_case_history_partial_lists_the_entries_with_labels():
    history = [
        AuditRecord(
            seq=7,
            at=datetime(2026, 11, 28, 2, 0, tzinfo=UTC),
            actor="siti",
            action="case.status_changed",
            case_number="2026-0001",
            details={"from": "received", "to": "verification"},
            prev_hash=GENESIS_HASH,
            entry_hash="a" * 64,
        )
    ]
    html = render("officer/_case_history.html", case_history=history)
    assert "<td>7</td>" in html
    assert "28 November 2026, 09.00 WIB" in html
    assert "Status diubah" in html
    assert "Dari status: Diterima; Ke status: Dalam Verifikasi" in html
    # An action without a label is shown by its technical name.
    unlabelled = {**TEMPLATE_LABELS, "action_label": {}}
    assert "case.status_changed" in render(
        "officer/_case_history.html", unlabelled, case_history=history
    )


def test_case_history_partial_says_when_there_is_nothing():
    assert "Belum ada entri audit" in render("officer/_case_history.html", case_history=[])
