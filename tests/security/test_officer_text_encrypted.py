"""What officers write about a case (notes, reasons, reporter notes, recusal reasons, messages
to the reporter, reasons to reveal the reporter's identity) is as unreadable in a database copy
as what the reporter wrote."""

from __future__ import annotations

import anyio

from tests.support.cases import as_officer, file_report
from tests.support.dump import database_copy
from tests.support.officers import make_officer
from tests.support.release import publish
from whistle.cases import service as cases
from whistle.intake import service as intake

MARKER = "OFFICERMARKER5150"


async def test_officer_written_text_never_stored_in_plain(ctx, settings, templates):
    await make_officer(ctx, "triage", ["triage"])
    await make_officer(ctx, "triage.two", ["triage"])
    number, code = await file_report(ctx)
    triage = await as_officer(ctx, "triage")
    await cases.add_note(triage, number, f"Catatan internal {MARKER}")
    await cases.send_message(triage, number, f"Pertanyaan untuk pelapor {MARKER}")
    # A reveal request's reason (the identity itself is the reporter's: test_no_leaks).
    report_id, data_key = await intake.unlock_with_code(ctx, code)
    await intake.give_identity(ctx, report_id, data_key, "Nama", "Kontak")
    await publish(ctx)
    await cases.request_identity_reveal(triage, number, f"Alasan membuka {MARKER}")
    await cases.apply_transition(
        ctx,
        triage,
        number,
        "verify",
        reason=f"Alasan {MARKER}",
        public_note=f"Untuk pelapor {MARKER}",
    )
    await cases.recuse(await as_officer(ctx, "triage.two"), number, f"Saudara {MARKER}")

    stored = await anyio.to_thread.run_sync(database_copy, settings, templates.postgres)
    assert number.encode() in stored, "the copy holds the case"
    assert MARKER.encode() not in stored
    assert MARKER.encode("utf-16-le") not in stored
