"""whistle/reports/envelope.py is the one module that seals and opens report data.

Any other module reaching for the AEAD or sealing primitives of whistle.crypto fails this test,
except the few listed below, which seal secrets that are not report data.
"""

from __future__ import annotations

import ast
from pathlib import Path

import whistle

PRIMITIVES = frozenset(
    {
        "encrypt",
        "decrypt",
        "seal",
        "unseal",
        "wrap_key",
        "unwrap_key",
        "associated_data",
        "StreamEncryptor",
        "StreamDecryptor",
    }
)
CRYPTO_MODULES = frozenset({"whistle.crypto", "whistle.crypto.envelope", "whistle.crypto.stream"})
PACKAGE_ROOT = Path(whistle.__file__).resolve().parent

# Module path (relative to the package) -> why it may call the primitives.
ALLOWED = {
    "reports/envelope.py": "the owner of report encryption",
    "sessions.py": "session secrets (an officer's private key, a reporter's unlocked key) under "
    "the session's own key, never bound to a report",
    "officers/totp.py": "an officer's TOTP secret, sealed to that officer's own public key",
}


def primitive_uses(source: str) -> set[str]:
    """The crypto primitives a module imports or reaches through a crypto module alias."""
    tree = ast.parse(source)
    used: set[str] = set()
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for name in node.names:
                if node.module in CRYPTO_MODULES and name.name in PRIMITIVES:
                    used.add(name.name)
                if f"{node.module}.{name.name}" in CRYPTO_MODULES:
                    aliases.add(name.asname or name.name)
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name in CRYPTO_MODULES:
                    aliases.add(name.asname or name.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in PRIMITIVES:
            if ast.unparse(node.value) in aliases:
                used.add(node.attr)
    return used


def test_only_the_envelope_seals_report_data():
    offenders = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT).as_posix()
        if relative.startswith("crypto/") or relative in ALLOWED:
            continue
        if used := primitive_uses(path.read_text(encoding="utf-8")):
            offenders[relative] = sorted(used)
    assert not offenders, (
        f"call whistle.reports.envelope instead of the crypto primitives: {offenders}"
    )


def test_allowed_modules_exist_and_still_need_it():
    """The exception list stays honest: every entry exists and does use a primitive."""
    for relative in ALLOWED:
        assert primitive_uses((PACKAGE_ROOT / relative).read_text(encoding="utf-8")), relative


def test_the_scan_sees_every_way_of_reaching_a_primitive():
    assert primitive_uses("from whistle.crypto import decrypt, new_data_key") == {"decrypt"}
    assert primitive_uses("from whistle.crypto.envelope import seal as s") == {"seal"}
    assert primitive_uses("from whistle import crypto\ncrypto.wrap_key(a, b, c)") == {"wrap_key"}
    assert primitive_uses("import whistle.crypto.envelope as e\ne.encrypt(k, p, a)") == {"encrypt"}
    assert primitive_uses("from whistle.crypto import envelope\nenvelope.unseal(k, b, c)") == {
        "unseal"
    }
    assert primitive_uses("from whistle.reports import envelope\nenvelope.open_content(a)") == set()
