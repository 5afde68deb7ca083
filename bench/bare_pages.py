"""The baseline for bench.public_pages: a bare Litestar app that answers each path with the bytes
and headers the real server gave for it, under the same uvicorn options as `whistle serve`.

    python -m bench.bare_pages PORT PAGES_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn
from litestar import Litestar, Request, Response, get


def bare_app(pages: dict[str, dict]) -> Litestar:
    # "/{path:path}" alone does not match "/": the home page needs its own path.
    @get(["/", "/{path:path}"], sync_to_thread=False)
    def page(request: Request) -> Response[bytes]:
        stored = pages[request.url.path]
        # Litestar appends the charset to text/ types itself (the pages are all UTF-8).
        media_type = stored["media_type"]
        if media_type.startswith("text/"):
            media_type = media_type.split(";", 1)[0]
        return Response(
            content=stored["body"].encode(),
            status_code=stored["status"],
            headers=stored["headers"],
            media_type=media_type,
        )

    return Litestar(route_handlers=[page], logging_config=None, openapi_config=None)


if __name__ == "__main__":
    port, pages_file = int(sys.argv[1]), Path(sys.argv[2])
    uvicorn.run(
        bare_app(json.loads(pages_file.read_text())),
        host="127.0.0.1",
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        log_level="warning",
    )
