"""The report form's list of officers a reporter may exclude is kept between answers (the
roster is read once, not on every form), yet every change shows on the very next form: an
officer added, disabled or given other roles, and a roster row altered in the database by
another process (whose MAC then fails)."""

from __future__ import annotations

import re
import sqlite3

import asyncpg

from tests.support.officers import make_officer
from whistle.officers import admin

_LISTED = re.compile(
    r'name="excluded_officers" value="(\d+)"[^>]*> ([^<]+) <span class="role">- ([^<]*)</span>'
)


async def _listed(client) -> dict[str, str]:
    """Display name -> role labels, as the report form lists them."""
    answer = await client.get("/report")
    assert answer.status_code == 200
    return {name: roles for _id, name, roles in _LISTED.findall(answer.text)}


async def test_new_disabled_and_changed_officers_show_on_the_next_form(ctx, client):
    await make_officer(ctx, "kepala", ["admin"])
    await make_officer(ctx, "ani", ["triage"])
    budi = await make_officer(ctx, "budi", ["triage", "investigator"])
    assert await _listed(client) == {
        "Ani": "Tim WBS (triase)",
        "Budi": "Investigator, Tim WBS (triase)",
    }
    assert await _listed(client) == {
        "Ani": "Tim WBS (triase)",
        "Budi": "Investigator, Tim WBS (triase)",
    }

    await make_officer(ctx, "citra", ["investigator"])
    assert set(await _listed(client)) == {"Ani", "Budi", "Citra"}

    await admin.set_roles(ctx, budi, ["triage"], actor="kepala")
    assert (await _listed(client))["Budi"] == "Tim WBS (triase)"

    await admin.disable_officer(ctx, budi, actor="kepala")
    assert set(await _listed(client)) == {"Ani", "Citra"}


async def test_a_row_altered_by_another_process_drops_out_of_the_next_form(
    ctx, client, settings, engine_name
):
    await make_officer(ctx, "ani", ["triage"])
    await make_officer(ctx, "budi", ["triage"])
    assert set(await _listed(client)) == {"Ani", "Budi"}

    # Another process with write access but no keys/ renames an account: its MAC fails.
    statement = "UPDATE officer SET username = 'budi2' WHERE username = 'budi'"
    if engine_name == "sqlite":
        other = sqlite3.connect(settings.sqlite_path)
        with other:
            other.execute(statement)
        other.close()
    else:
        other = await asyncpg.connect(settings.database_url)
        await other.execute(statement)
        await other.close()
    assert set(await _listed(client)) == {"Ani"}
