"""Argon2id parameters, password hashing and the key-derivation limiter."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from whistle.crypto.kdf import (
    Argon2Params,
    KeyDerivationLimiter,
    argon2id,
    hash_password,
    needs_rehash,
    verify_password,
)

CHEAP = Argon2Params(memory_kib=1024, iterations=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_params_encode_decode_round_trip() -> None:
    params = Argon2Params(memory_kib=65536, iterations=3, lanes=1)
    assert params.encode() == "m=65536,t=3,p=1"
    assert Argon2Params.decode("m=65536,t=3,p=1") == params
    assert Argon2Params(memory_kib=19456, iterations=2).lanes == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "m=65536,t=3",
        "m=65536,t=3,p=1,x=2",
        "t=3,m=65536,p=1",
        "m=65536, t=3, p=1",
        "m=-1,t=3,p=1",
        "m=+65536,t=3,p=1",
        "m=6_5536,t=3,p=1",
        "m=65536,t=0,p=1",
        "m=4,t=1,p=1",  # below Argon2's minimum of 8 KiB per lane
        "m=99999999999,t=1,p=1",  # absurd memory
        "m=\u0661\u0662\u0663,t=1,p=1",  # non-ASCII digits
        "garbage",
    ],
)
def test_params_decode_rejects_junk(text: str) -> None:
    with pytest.raises(ValueError):
        Argon2Params.decode(text)


def test_params_validate_on_construction() -> None:
    with pytest.raises(ValueError):
        Argon2Params(memory_kib=1024, iterations=0)
    with pytest.raises(ValueError):
        Argon2Params(memory_kib=8, iterations=1, lanes=2)
    with pytest.raises(TypeError):
        Argon2Params(memory_kib="1024", iterations=1)  # type: ignore[arg-type]


def test_argon2id_is_deterministic_and_sized() -> None:
    salt = b"s" * 16
    first = argon2id(b"secret", salt, CHEAP)
    assert len(first) == 32
    assert argon2id(b"secret", salt, CHEAP) == first
    assert argon2id(b"secret", b"t" * 16, CHEAP) != first
    assert argon2id(b"secreT", salt, CHEAP) != first
    assert argon2id(b"secret", salt, Argon2Params(memory_kib=2048, iterations=1)) != first
    assert len(argon2id(b"secret", salt, CHEAP, length=64)) == 64


# Page faults of one 64 MiB derivation, after a first one, in a fresh interpreter.
_FAULTS_OF_A_DERIVATION = """
import resource
from whistle.crypto.kdf import Argon2Params, argon2id
params = Argon2Params(memory_kib=65536, iterations=1)
argon2id(b"secret", b"s" * 16, params)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
argon2id(b"secret", b"s" * 16, params)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_a_derivation(tunables: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    run = [sys.executable, "-c", _FAULTS_OF_A_DERIVATION]
    return int(subprocess.run(run, env=env, check=True, capture_output=True, text=True).stdout)


def _transparent_huge_pages_off() -> bool:
    try:
        return "[never]" in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return True


@pytest.mark.skipif(_transparent_huge_pages_off(), reason="the kernel offers no huge pages")
def test_the_deployment_tunable_puts_a_derivation_in_huge_pages() -> None:
    # The systemd units, `make run` and `make bench` set it (docs/DEPLOYMENT.md): faulting the
    # 64 MiB in one 4 KiB page at a time cost about a tenth of each derivation's CPU.
    small_pages = 65536 // 4
    assert _faults_of_a_derivation(None) > small_pages // 2
    assert _faults_of_a_derivation("glibc.malloc.hugetlb=1") < small_pages // 8
    guide = (Path(__file__).resolve().parents[2] / "docs" / "DEPLOYMENT.md").read_text()
    assert guide.count("Environment=GLIBC_TUNABLES=glibc.malloc.hugetlb=1") == 2


def test_hash_password_format_and_verify() -> None:
    encoded = hash_password("correct horse battery", CHEAP)
    scheme, params, salt, digest = encoded.split("$")
    assert scheme == "argon2id"
    assert params == "m=1024,t=1,p=1"
    assert "=" not in salt and "=" not in digest
    assert "correct" not in encoded
    assert verify_password("correct horse battery", encoded)
    assert not verify_password("correct horse batterY", encoded)
    assert not verify_password("", encoded)


def test_hash_password_salts_each_hash() -> None:
    assert hash_password("same password", CHEAP) != hash_password("same password", CHEAP)


def test_verify_password_normalises_unicode() -> None:
    encoded = hash_password("caf\u00e9 password", CHEAP)  # precomposed
    assert verify_password("cafe\u0301 password", encoded)  # combining accent


def test_verify_password_uses_stored_params() -> None:
    encoded = hash_password("pw", Argon2Params(memory_kib=2048, iterations=2))
    assert verify_password("pw", encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "argon2id",
        "argon2i$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "argon2id$m=1024,t=1,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA",
        "argon2id$junk$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "argon2id$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$",
        "argon2id$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA$extra",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    ],
)
def test_verify_password_false_on_malformed(encoded: str) -> None:
    assert verify_password("pw", encoded) is False


def test_verify_password_false_on_tampered_hash() -> None:
    encoded = hash_password("pw", CHEAP)
    head, digest = encoded.rsplit("$", 1)
    flipped = ("A" if digest[0] != "A" else "B") + digest[1:]
    assert verify_password("pw", f"{head}${flipped}") is False


def test_needs_rehash() -> None:
    encoded = hash_password("pw", CHEAP)
    assert not needs_rehash(encoded, CHEAP)
    assert needs_rehash(encoded, Argon2Params(memory_kib=2048, iterations=1))
    assert needs_rehash(encoded, Argon2Params(memory_kib=1024, iterations=2))
    assert needs_rehash(encoded, Argon2Params(memory_kib=1024, iterations=1, lanes=2))
    assert needs_rehash("not a hash", CHEAP)


def test_limiter_can_be_built_outside_an_event_loop() -> None:
    limiter = KeyDerivationLimiter(2)
    assert limiter.max_concurrent == 2
    with pytest.raises(ValueError):
        KeyDerivationLimiter(0)


@pytest.mark.anyio
async def test_limiter_bounds_concurrency() -> None:
    limiter = KeyDerivationLimiter(2)
    lock = threading.Lock()
    running = 0
    observed = 0

    def blocking(value: int) -> int:
        nonlocal running, observed
        with lock:
            running += 1
            observed = max(observed, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return value * 2

    results: dict[int, int] = {}

    async def one(value: int) -> None:
        results[value] = await limiter.run(blocking, value)

    async with anyio.create_task_group() as tg:
        for value in range(10):
            tg.start_soon(one, value)

    assert observed == 2
    assert results == {value: value * 2 for value in range(10)}


@pytest.mark.anyio
async def test_limiter_does_not_block_the_event_loop() -> None:
    limiter = KeyDerivationLimiter(1)
    ticks = 0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await limiter.run(time.sleep, 0.3)
        done.set()

    # A blocked loop would have let the ticker run about once; a free one about 30 times.
    assert ticks >= 10


@pytest.mark.anyio
async def test_limiter_starts_the_next_derivation_before_the_caller_goes_on() -> None:
    # A caller's work after its derivation (database reads on the loop, say) must not keep the
    # next caller's derivation from starting: the budget's slot would stand idle meanwhile.
    limiter = KeyDerivationLimiter(1)
    events: list[str] = []
    second_started = threading.Event()

    def derive(name: str) -> None:
        events.append(f"{name} starts")
        if name == "second":
            second_started.set()

    async def first() -> None:
        await limiter.run(derive, "first")
        # Blocks the loop, as synchronous work after a derivation would: only a derivation
        # already handed to its thread can start meanwhile.
        second_started.wait(10)
        events.append("first goes on")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await anyio.lowlevel.checkpoint()
        tg.start_soon(limiter.run, derive, "second")
    assert events == ["first starts", "second starts", "first goes on"]


@pytest.mark.anyio
async def test_limiter_runs_real_derivations() -> None:
    limiter = KeyDerivationLimiter(2)
    salt = b"s" * 16
    results = []

    async def one() -> None:
        results.append(await limiter.run(argon2id, b"secret", salt, CHEAP))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one)
    assert results == [argon2id(b"secret", salt, CHEAP)] * 4


def test_limiter_survives_a_new_event_loop() -> None:
    limiter = KeyDerivationLimiter(1)

    async def main() -> int:
        return await limiter.run(sum, [1, 2, 3])

    # Each run in its own thread: the suite's shared anyio runner owns this thread's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(anyio.run, main).result() == 6
        assert pool.submit(anyio.run, main).result() == 6


def test_peppered_hash_needs_the_pepper_and_old_hashes_ask_for_it() -> None:
    pepper = b"p" * 32
    peppered = hash_password("pw", CHEAP, pepper=pepper)
    assert peppered.startswith("argon2id+pepper1$")
    assert verify_password("pw", peppered, pepper=pepper)
    assert not verify_password("pw", peppered)
    assert not verify_password("pw", peppered, pepper=b"q" * 32)
    assert not needs_rehash(peppered, CHEAP, pepper=pepper)
    plain = hash_password("pw", CHEAP)
    # A hash from before the pepper still verifies, and asks to be replaced.
    assert verify_password("pw", plain, pepper=pepper)
    assert needs_rehash(plain, CHEAP, pepper=pepper)
