"""The fast path's own encodings against the bytes ``append`` hashes. A batch quotes plain texts
by concatenation and joins the MAC inputs with a newline; PostgreSQL writes the time with
to_json in a UTC transaction and pads its fraction to six digits. Every entry ``append`` writes
passes without the exact path, whatever its texts and time and whatever time zone and date style
the server gives its sessions; the escaped form of a text put in place of the text is named; the
pooled connections go back to the pool as they came."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.audit import append_one, disable_append_only_triggers
from whistle.audit import actions, append
from whistle.audit.verify import ALTERED, POSTGRES_LANES, verify_chain
from whistle.db import engine as db

# Every length of fraction PostgreSQL prints (it drops trailing zeros, Python does not), none,
# and the first and last years (datetime.min and max are PostgreSQL's -infinity and infinity).
TIMES = [
    datetime(2026, 5, 17, 8, 30, 15, microsecond, tzinfo=UTC)
    for microsecond in (0, 1, 10, 100, 1_000, 10_000, 100_000, 120_000, 123_400, 123_450)
] + [
    datetime(2026, 5, 17, 8, 30, 15, 123_456, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999_990, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 100_000, tzinfo=UTC),
    datetime(1, 1, 1, 23, 59, 59, tzinfo=UTC),
    datetime(999, 12, 31, 12, 0, 0, 500_000, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 990_000, tzinfo=UTC),
    datetime(9999, 12, 31, 0, 0, tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
]
# Texts a batch cannot quote by concatenation (a quote, a backslash) or whose concatenation is
# not their JSON (control characters, the separator among them), beside plain ones.
AWKWARD_TEXTS = ['x"y', "a\\b", "line\nbreak", "bell\x07", "tab\t", "é ✓ \U0001f600", "plain"]
BATCH_SIZES = (1, 3, 5000)


async def append_at(times: list[datetime]) -> None:
    for at in times:
        async with db.transaction():
            await append(actions.LOGIN, actor="siti", at=at)


async def test_times_of_every_fraction_length_and_year_take_the_fast_path(database):
    await append_at(TIMES)
    for batch_size in BATCH_SIZES:
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == len(TIMES), result
        assert result.slow_path_entries == 0, batch_size


async def test_texts_with_quotes_backslashes_and_control_characters_take_the_fast_path(
    database,
):
    for text in AWKWARD_TEXTS:
        await append_one(actions.CASE_NOTE_ADDED, text, text[:16], {text: text})
        await append_one(actions.LOGIN, "siti", None, {})
    for batch_size in BATCH_SIZES:
        result = await verify_chain(batch_size=batch_size)
        assert result.ok and result.entries_checked == 2 * len(AWKWARD_TEXTS), result
        assert result.slow_path_entries == 0, batch_size


@pytest.mark.parametrize(
    ("column", "hashed", "escaped"),
    [
        # Quoted by concatenation, the escaped form would read as the JSON of the original.
        ("actor", 'x"y', 'x\\"y'),
        ("case_number", "a\\b", "a\\\\b"),
        ("actor", "line\nbreak", "line\\nbreak"),
    ],
)
async def test_the_escaped_form_of_a_text_in_its_place_is_named(database, column, hashed, escaped):
    await append_one(actions.LOGIN, "siti", None, {})
    texts = {"actor": "siti", "case_number": "2026-0001"} | {column: hashed}
    record = await append_one(actions.CASE_NOTE_ADDED, texts["actor"], texts["case_number"], {})
    await append_one(actions.LOGIN, "siti", None, {})
    await disable_append_only_triggers()
    await db.fetch(
        f"UPDATE audit_entry SET {column} = {{}} WHERE seq = {{}}",  # noqa: S608
        escaped,
        record.seq,
    )
    for batch_size in BATCH_SIZES:
        result = await verify_chain(batch_size=batch_size)
        assert (result.problem.seq, result.problem.kind) == (record.seq, ALTERED), batch_size
        assert result.entries_checked == record.seq - 1, batch_size


@pytest.mark.parametrize("engine_name", ["postgres"])
async def test_any_session_time_zone_and_date_style_and_the_pool_gets_its_connections_back(
    settings,
):
    """The server's defaults for new sessions: a zone with a half-hour offset and the SQL date
    style. The verify transaction writes times in UTC regardless, and its setting ends with it:
    the pooled connections keep the server's zone and hold no transaction afterwards."""
    engine = await db.open_database(settings)
    try:
        name = (await db.fetch("SELECT current_database() AS name"))[0]["name"]
        await db.fetch(f"ALTER DATABASE {name} SET TimeZone = 'America/St_Johns'")
        await db.fetch(f"ALTER DATABASE {name} SET DateStyle = 'SQL, DMY'")
    finally:
        await db.close_database(engine)
    engine = await db.open_database(settings)  # sessions opened from now on take them
    try:
        await append_at(TIMES)
        for batch_size in BATCH_SIZES:
            result = await verify_chain(batch_size=batch_size)
            assert result.ok and result.entries_checked == len(TIMES), result
            assert result.slow_path_entries == 0, batch_size
        pool = db.current().pool
        connections = [await pool.acquire() for _ in range(POSTGRES_LANES + 1)]
        try:
            for connection in connections:
                assert await connection.fetchval("SHOW TimeZone") == "America/St_Johns"
                assert await connection.fetchval("SHOW DateStyle") == "SQL, DMY"
                assert not connection.is_in_transaction()
        finally:
            for connection in connections:
                await pool.release(connection)
    finally:
        await db.close_database(engine)


@pytest.mark.parametrize("engine_name", ["postgres"])
@pytest.mark.parametrize(
    "stored_time",
    [
        "0044-03-15 12:00:00.5+00 BC",
        "10000-01-01 00:00:00+00",
        "infinity",
        "2026-05-17 08:30:15.12+00",
    ],
)
async def test_a_time_out_of_python_s_range_or_moved_is_named(database, stored_time):
    """Times the fast path writes as null (BC, past year 9999) or as another isoformat: the
    exact path names the entry (infinity stands for datetime.max, which this entry was not)."""
    await append_at(TIMES[:3])
    await disable_append_only_triggers()
    await db.fetch("UPDATE audit_entry SET at = {}::text::timestamptz WHERE seq = 2", stored_time)
    for batch_size in BATCH_SIZES:
        result = await verify_chain(batch_size=batch_size)
        assert (result.problem.seq, result.problem.kind) == (2, ALTERED), batch_size
        assert result.entries_checked == 1, batch_size
