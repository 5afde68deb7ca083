"""The words of an alert: Bahasa Indonesia first, then the same in English, and a link.

Built from an outbox row's kind and counts only, so a mail can say no more than the row holds:
that something needs attention, how much, and where the back office is. Never a case number, a
category, report text, a reporter's name or a tracking code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from whistle.clock import WIB
from whistle.i18n import N_, translations
from whistle.notify import outbox
from whistle.settings import Settings

# The back office's start page (the officer router's root), appended to WHISTLE_PUBLIC_URL.
OFFICER_HOME_PATH = "/officer/"

SUBJECT = N_("[WBS] Ada yang perlu Anda tindak lanjuti")
NO_CONTENT = N_(
    "Surel ini sengaja tidak memuat isi atau nomor laporan. Buka kantor belakang WBS: {link}"
)
_LINES = {
    outbox.NEW_REPORTS: N_("Laporan baru menunggu triase: {count}."),
    outbox.ASSIGNED: N_("Kasus baru ditugaskan kepada Anda: {count}."),
    outbox.REPORTER_ANSWER: N_("Pelapor mengirim balasan pada kasus Anda: {count}."),
}
OVERDUE = N_("Kasus Anda yang melewati tenggat: {count}.")
DUE_SOON = N_("Kasus Anda yang tenggatnya segera tiba: {count}.")
DIGEST_TITLE = N_("Ringkasan harian kasus Anda.")
AUDIT_TITLE = N_("Ringkasan harian audit (24 jam terakhir).")
ROLE_CHANGES = N_("Perubahan peran petugas: {count}.")
ROLE_CHANGE = N_("{at} {actor}: {officer} ({action})")
EXPORTS = N_("Ekspor log audit: {count}.")
CHECKPOINT = N_("Titik periksa terakhir: entri {seq}, {at}.")
NO_CHECKPOINT = N_("Belum ada titik periksa log audit.")


@dataclass(frozen=True)
class Alert:
    """One outbox row, claimed for sending."""

    id: int
    officer: int
    kind: str
    payload: str
    attempts: int


def _wib(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")


def _lines(kind: str, payload: dict, language: str) -> list[str]:
    """The alert's lines in ``language`` (the counts and times from the row, nothing else)."""
    say = translations(language).gettext
    if kind in _LINES:
        return [say(_LINES[kind]).format(count=int(payload["count"]))]
    if kind == outbox.OFFICER_DIGEST:
        return [
            say(DIGEST_TITLE),
            say(OVERDUE).format(count=int(payload["overdue"])),
            say(DUE_SOON).format(count=int(payload["due_soon"])),
        ]
    if kind == outbox.AUDITOR_DIGEST:
        changes = payload["role_changes"]
        lines = [say(AUDIT_TITLE), say(ROLE_CHANGES).format(count=len(changes))]
        lines += [
            "- "
            + say(ROLE_CHANGE).format(
                at=_wib(change["at"]),
                actor=change["actor"],
                officer=change["officer"],
                action=say(change["label"]),
            )
            for change in changes
        ]
        lines.append(say(EXPORTS).format(count=int(payload["exports"])))
        checkpoint = payload.get("checkpoint")
        lines.append(
            say(CHECKPOINT).format(seq=checkpoint["seq"], at=_wib(checkpoint["at"]))
            if checkpoint
            else say(NO_CHECKPOINT)
        )
        return lines
    raise ValueError(f"unknown alert kind {kind!r}")


def compose(alert: Alert, address: str, settings: Settings) -> EmailMessage:
    """The mail for one alert: Indonesian, then English, each with the back-office link."""
    assert settings.public_url is not None and settings.smtp_from is not None
    payload = json.loads(alert.payload)
    link = settings.public_url + OFFICER_HOME_PATH
    parts = []
    for language in ("id", "en"):
        say = translations(language).gettext
        lines = _lines(alert.kind, payload, language)
        parts.append("\n".join([*lines, "", say(NO_CONTENT).format(link=link)]))
    message = EmailMessage()
    message["Subject"] = f"{SUBJECT} / {translations('en').gettext(SUBJECT).removeprefix('[WBS] ')}"
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rsplit("@", 1)[1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n\n-- English --\n\n".join(parts))
    return message
