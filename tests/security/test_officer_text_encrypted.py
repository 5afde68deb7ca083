"""What officers write about a case (notes, reasons, reporter notes, recusal reasons) is as
unreadable in a database copy as what the reporter wrote."""

from __future__ import annotations

import subprocess

from tests.cases_support import as_officer, file_report
from tests.officer_support import make_officer
from whistle.cases import service as cases

MARKER = "OFFICERMARKER5150"


async def test_officer_written_text_never_stored_in_plain(ctx, settings, engine_name, templates):
    await make_officer(ctx, "triage", ["triage"])
    await make_officer(ctx, "triage.two", ["triage"])
    number, _ = await file_report(ctx)
    triage = await as_officer(ctx, "triage")
    await cases.add_note(triage, number, f"Catatan internal {MARKER}")
    await cases.apply_transition(
        ctx,
        triage,
        number,
        "verify",
        reason=f"Alasan {MARKER}",
        public_note=f"Untuk pelapor {MARKER}",
    )
    await cases.recuse(await as_officer(ctx, "triage.two"), number, f"Saudara {MARKER}")

    if engine_name == "sqlite":
        path = settings.sqlite_path
        stored = b"".join(
            p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
    else:
        cluster = templates.postgres
        stored = subprocess.run(
            [
                str(cluster.bindir / "pg_dump"),
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-U",
                cluster.user,
                settings.database_url.rsplit("/", 1)[1],
            ],
            capture_output=True,
            check=True,
        ).stdout
    assert number.encode() in stored, "the copy holds the case"
    assert MARKER.encode() not in stored
    assert MARKER.encode("utf-16-le") not in stored
