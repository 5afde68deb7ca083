"""Dependencies shared by controllers."""

from __future__ import annotations

import msgspec
from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import ValidationException

from whistle.context import Context


def provide_context(request: Request) -> Context:
    return request.app.state.ctx


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def session_cookie(
    ctx: Context, key: str, token: str, path: str, *, expire: bool = False
) -> Cookie:
    """A session cookie: script can't read it, other sites can't send it, https only in
    production, and it ends with the browser session (or now, with ``expire``)."""
    return Cookie(
        key=key,
        value=token,
        path=path,
        httponly=True,
        secure=not ctx.settings.development,
        samesite="strict",
        max_age=0 if expire else None,
    )


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter read as ``FromQuery[bool] = False`` reads it (the last value
    wins; true/false/1/0 in any case; anything else is a 400), for cheap pages whose handler
    takes no parameters: the query is parsed only when it names the flag."""
    if name.encode() not in request.scope.get("query_string", b""):
        return False
    values = request.query_params.getall(name, [])
    if not values:
        return False
    try:
        return msgspec.convert(values[-1], bool, strict=False)
    except msgspec.ValidationError as error:
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url}",
            extra=[{"message": str(error), "key": name, "source": "query"}],
        ) from error
