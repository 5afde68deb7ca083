"""The audit viewer shows auditors the latest signed checkpoint (sequence number and time)."""

from __future__ import annotations

from tests.support.officers import logged_in, make_officer
from whistle.audit.checkpoint import take_checkpoint


async def test_the_auditor_sees_the_latest_signed_checkpoint(client, ctx):
    await make_officer(ctx, "auditor1", ["auditor"])
    await logged_in(client, ctx, "auditor1")
    page = await client.get("/officer/audit")
    assert "Belum ada titik periksa bertanda tangan." in page.text
    await take_checkpoint(ctx.keyring, actor="worker")
    latest = await take_checkpoint(ctx.keyring, actor="worker")
    page = await client.get("/officer/audit")
    assert page.status_code == 200
    assert f"Titik periksa bertanda tangan terakhir: entri {latest.seq}," in page.text
    assert "WIB." in page.text
