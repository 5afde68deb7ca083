"""The intake benchmark judges each block of requests against the bare blocks beside it and
pools the rounds (every operation and every derivation measured counts by its time), and its
lean client speaks HTTP/1.1 as the server does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bench.intake import Answer, Bare, Connection, Served, failure_kind, load, paired_ratio


def served(succeeded: int, seconds: float) -> Served:
    return Served(answers=[], succeeded=succeeded, seconds=seconds, cpu_seconds=0.0)


def bare(count: int, seconds: float) -> Bare:
    return Bare(parallel=1, count=count, seconds=seconds, cpu_seconds=seconds)


def test_a_round_is_judged_against_both_bare_blocks_beside_it() -> None:
    # 8 in 2 s against 4 in 0.8 s and 4 in 1.2 s: 4/s against 8 in 2 s = 4/s.
    assert paired_ratio([(bare(4, 0.8), served(8, 2.0), bare(4, 1.2))]) == pytest.approx(1.0)
    # A machine that slowed down during the round slows the block after it too.
    assert paired_ratio([(bare(4, 0.8), served(8, 2.4), bare(4, 1.6))]) == pytest.approx(1.0)


def test_rounds_are_pooled_by_time_not_averaged() -> None:
    slow = (bare(4, 2.0), served(8, 4.0), bare(4, 2.0))  # machine at half speed: 1.0 x
    fast = (bare(4, 1.0), served(8, 2.5), bare(4, 1.0))  # 0.8 x
    # 16 served in 6.5 s against 16 derivations in 6 s.
    assert paired_ratio([slow, fast]) == pytest.approx((16 / 6.5) / (16 / 6.0))


def test_only_successes_count() -> None:
    assert paired_ratio([(bare(4, 1.0), served(6, 2.0), bare(4, 1.0))]) == pytest.approx(0.75)


# (connection number, request body) -> (answer, whether to close the connection after it)
Reply = Callable[[int, bytes], tuple[bytes, bool]]


@asynccontextmanager
async def loopback(reply: Reply) -> AsyncIterator[tuple[int, list[tuple[str, bytes]]]]:
    """A server on loopback answering each request with ``reply(connection number, body)``;
    yields its port and what it received (request line, body)."""
    received: list[tuple[str, bytes]] = []
    opened = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        number = opened
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode().split("\r\n")
                length = next(
                    int(line.split(":")[1]) for line in lines if line.startswith("Content-Length")
                )
                body = await reader.readexactly(length)
                received.append((lines[0], body))
                answer, close = reply(number, body)
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], received
    finally:
        server.close()
        await server.wait_closed()


def http(status: str, body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in (*headers, f"Content-Length: {len(body)}"))
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


async def test_the_client_posts_json_and_keeps_its_connection() -> None:
    def reply(number: int, body: bytes) -> tuple[bytes, bool]:
        answer = {"connection": number, "got": json.loads(body)}
        return http("201 Created", json.dumps(answer).encode()), False

    async with loopback(reply) as (port, received):
        connection = Connection("127.0.0.1", port)
        first = await connection.post("/api/v1/reports", {"a": "b"})
        second = await connection.post("/api/v1/session", {"tracking_code": "X"})
        await connection.close()
    assert (first.status_code, first.json()) == (201, {"connection": 1, "got": {"a": "b"}})
    assert second.json() == {"connection": 1, "got": {"tracking_code": "X"}}
    assert [line for line, _ in received] == [
        "POST /api/v1/reports HTTP/1.1",
        "POST /api/v1/session HTTP/1.1",
    ]


async def test_a_busy_answer_keeps_its_retry_after_and_a_closing_server_gets_a_new_connection() -> (
    None
):
    def reply(number: int, body: bytes) -> tuple[bytes, bool]:
        if number == 1:
            busy = http("503 Service Unavailable", b"{}", "Retry-After: 2", "Connection: close")
            return busy, True
        return http("201 Created", str(number).encode()), False

    async with loopback(reply) as (port, _):
        connection = Connection("127.0.0.1", port)
        busy = await connection.post("/x", {})
        again = await connection.post("/x", {})
        await connection.close()
    assert failure_kind(busy, 201) == "503 with Retry-After"
    assert busy.headers["retry-after"] == "2"
    assert (again.status_code, again.body) == (201, b"2")  # on a second connection


async def test_a_broken_answer_is_counted_as_a_failure_and_the_next_request_goes_through() -> None:
    def reply(number: int, body: bytes) -> tuple[bytes, bool]:
        if number == 1:
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", False
        return http("200 OK", b"fine"), False

    async with loopback(reply) as (port, _):
        connection = Connection("127.0.0.1", port)
        answers = await load([connection], [("/x", {}), ("/x", {})])
        await connection.close()
    assert failure_kind(answers[0], 200) == "error ConnectionError"
    second = answers[1]
    assert isinstance(second, Answer) and second.body == b"fine"


async def test_a_connection_the_server_closed_while_idle_is_opened_again() -> None:
    # uvicorn closes a keep-alive connection idle for 5 s without a word; a client waiting
    # through a bare block or the other kind's requests finds it closed.
    def reply(number: int, body: bytes) -> tuple[bytes, bool]:
        return http("201 Created", str(number).encode()), number == 1

    async with loopback(reply) as (port, _):
        connection = Connection("127.0.0.1", port)
        first = await connection.post("/x", {})
        await asyncio.sleep(0.05)  # the server's close arrives
        second = await connection.post("/x", {})
        await connection.close()
    assert (first.body, second.body) == (b"1", b"2")
