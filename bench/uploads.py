"""Evidence uploads: the server's peak resident memory while a 20 MB file of a kind that cannot
be cleaned (audio: sealed chunk by chunk as read) is uploaded, and while a large image (cleaned,
so held whole in memory) is uploaded; upload throughput beside the bare AES-256-GCM rate of the
same run on the same machine.

Memory is read from /proc/PID/status of a real `whistle serve` process: VmHWM (peak) after
resetting it, minus VmRSS just before the upload. The audio figure must stay bounded by the
chunk size and the network buffers, not the file size; the image figure is expected to be about
the image's size (cleaning needs the whole file).

    .venv/bin/python -m bench.uploads [--megabytes 20] [--image-megabytes 12] [--engine sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench.results import record
from bench.server import ENGINES, migrated, on_each_engine, reset_peak, server_pid, status_mib
from tests.support.forms import VALID_REPORT
from tests.support.server import running_server
from whistle.crypto import Argon2Params, init_keys
from whistle.crypto.stream import CHUNK_BYTES
from whistle.settings import Settings

MIB = 1024 * 1024


def audio_bytes(size: int) -> bytes:
    """An MP3 by its first bytes (ID3 tag), random after: a kind that is never cleaned."""
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(size - 10)


def png_bytes(approx_size: int) -> bytes:
    """A real PNG of random pixels (incompressible, so the file is about ``approx_size``)."""
    width = 1024
    height = max(1, approx_size // (width * 3))
    raw = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )


def bare_aes_gcm_rate(data: bytes) -> float:
    """MB/s of AES-256-GCM over ``data`` in 64 KiB chunks, in this process, now."""
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = bytes(12)
    started = time.perf_counter()
    for start in range(0, len(data), CHUNK_BYTES):
        aead.encrypt(nonce, data[start : start + CHUNK_BYTES], b"")
    return len(data) / 1e6 / (time.perf_counter() - started)


def _pieces(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _upload(
    client: httpx.AsyncClient, token: str, name: str, data: bytes
) -> tuple[httpx.Response, float]:
    boundary = "benchboundary7e3c"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body():
        yield head
        for piece in _pieces(data):
            yield piece
        yield tail

    started = time.perf_counter()
    answer = await client.post(
        "/api/v1/report/attachments",
        content=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + len(data) + len(tail)),
        },
    )
    return answer, time.perf_counter() - started


async def _reporter_token(client: httpx.AsyncClient) -> str:
    created = await client.post("/api/v1/reports", json=VALID_REPORT)
    created.raise_for_status()
    session = await client.post(
        "/api/v1/session", json={"tracking_code": created.json()["tracking_code"]}
    )
    session.raise_for_status()
    return session.json()["token"]


async def _peak_during(
    pid: int, client: httpx.AsyncClient, name: str, data: bytes
) -> tuple[float, float, int]:
    """(peak minus resident before, seconds, status) of one upload on a fresh report."""
    token = await _reporter_token(client)
    before = status_mib(pid, "VmRSS")
    reset_peak(pid)
    answer, seconds = await _upload(client, token, name, data)
    peak = status_mib(pid, "VmHWM")
    return peak - before, seconds, answer.status_code


async def measure(settings: Settings, args: argparse.Namespace, label: str, log: Path) -> None:
    await migrated(settings)
    audio = audio_bytes(args.megabytes * 1_000_000)
    image = png_bytes(args.image_megabytes * 1_000_000)
    with running_server(settings, log) as url:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        async with httpx.AsyncClient(base_url=url, timeout=600) as client:
            # Warm up: code paths, the database file and the allocator.
            await _peak_during(pid, client, "warm.mp3", audio_bytes(2 * CHUNK_BYTES))
            audio_peak, audio_seconds, audio_status = await _peak_during(
                pid, client, "rekaman.mp3", audio
            )
            image_peak, image_seconds, image_status = await _peak_during(
                pid, client, "foto.png", image
            )
    bare = bare_aes_gcm_rate(audio)
    audio_rate = len(audio) / 1e6 / audio_seconds
    image_rate = len(image) / 1e6 / image_seconds
    print(
        f"{label:<10} audio {len(audio) / 1e6:.0f} MB (status {audio_status}): peak +"
        f"{audio_peak:6.1f} MiB ({audio_peak * MIB / len(audio):.2f} x file size, "
        f"{audio_peak * MIB / CHUNK_BYTES:.0f} x chunk) | {audio_rate:6.1f} MB/s"
    )
    print(
        f"{label:<10} image {len(image) / 1e6:.0f} MB (status {image_status}): peak +"
        f"{image_peak:6.1f} MiB ({image_peak * MIB / len(image):.2f} x file size) | "
        f"{image_rate:6.1f} MB/s"
    )
    record(
        "uploads",
        f"{label}: peak memory / size of the uploaded audio file",
        audio_peak * MIB / len(audio),
        "well under 1 x (streamed)",
    )
    print(
        f"{label:<10} bare AES-256-GCM in 64 KiB chunks: {bare:7.1f} MB/s | upload/bare: "
        f"audio {audio_rate / bare:.3f}, image {image_rate / bare:.3f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=20)
    parser.add_argument("--image-megabytes", type=int, default=12)
    parser.add_argument("--engine", choices=ENGINES, default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="whistle-bench-") as tmp:
        root = Path(tmp)
        init_keys(root / "keys", "benchmark office passphrase", Argon2Params(256, 1, 1))
        # Cheap Argon2: the figures are about files, not about code derivations.
        base = Settings(
            keys_dir=root / "keys",
            argon2_memory_kib=256,
            argon2_iterations=1,
            development=True,
        )
        print(
            f"uploads through POST /api/v1/report/attachments; {CHUNK_BYTES // 1024} KiB chunks; "
            "peak = VmHWM after reset minus VmRSS before"
        )
        await on_each_engine(
            args.engine,
            root,
            base,
            lambda settings, label, log: measure(settings, args, label, log),
        )


if __name__ == "__main__":
    asyncio.run(main())
