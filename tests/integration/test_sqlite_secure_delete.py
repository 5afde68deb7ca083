"""SQLite overwrites deleted content (issue 9): a stolen file keeps no freed session secrets or
report pages. secure_delete is per connection and its default a compile-time choice, so every
connection the engine opens must set it."""

import pytest

from whistle.db import engine as db


@pytest.mark.parametrize("engine_name", ["sqlite"])
async def test_every_sqlite_connection_has_secure_delete_on(database):
    # Outside a transaction: piccolo opens a fresh connection for this query.
    rows = await db.fetch("PRAGMA secure_delete")
    assert rows == [{"secure_delete": 1}]
    # Inside one: the transaction's own connection.
    async with db.transaction():
        rows = await db.fetch("PRAGMA secure_delete")
    assert rows == [{"secure_delete": 1}]
