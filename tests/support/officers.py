"""Officer fixtures for tests: real accounts, real keys, sessions made as login makes them."""

from __future__ import annotations

import httpx

from whistle import sessions
from whistle.context import Context
from whistle.crypto import unprotect_private_key
from whistle.db.tables import Officer
from whistle.officers.auth import OFFICER_COOKIE
from whistle.officers.roles import roles_of
from whistle.officers.service import add_officer, key_binding

DEFAULT_PASSWORD = "a long and unusual passphrase 42"


async def make_officer(
    ctx: Context, username: str, roles: list[str], password: str = DEFAULT_PASSWORD
) -> int:
    return await add_officer(
        ctx, username=username, password=password, roles=roles, display_name=username.title()
    )


async def session_for(ctx: Context, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """A session token for an officer, built the way login builds it (unlocked private key),
    without going through the login page: for tests of other officer pages."""
    row = await Officer.objects().where(Officer.username == username).first()
    private_key = unprotect_private_key(
        row.private_key_protected,
        password,
        key_binding(row.id, row.public_key),
        pepper=ctx.keyring.officer_pepper,
    )
    from datetime import timedelta

    return await sessions.create_session(
        sessions.OFFICER,
        private_key,
        officer_id=row.id,
        lifetime=timedelta(hours=ctx.settings.officer_session_hours),
    )


async def logged_in(client: httpx.AsyncClient, ctx: Context, username: str) -> httpx.AsyncClient:
    """Put an officer session cookie on ``client`` (one officer per client)."""
    client.cookies.set(OFFICER_COOKIE, await session_for(ctx, username), domain="testserver.local")
    return client


async def roles_of_user(username: str) -> str:
    """The officer's stored roles, comma-joined in order, as they read before officer_role."""
    row = await Officer.objects().where(Officer.username == username).first()
    return ",".join(await roles_of(row.id))
