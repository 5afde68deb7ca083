"""``whistle.audit.service.append`` is the only code that writes the audit table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import whistle

PACKAGE = Path(whistle.__file__).resolve().parent
SERVICE = PACKAGE / "audit" / "service.py"

# Any ORM use that could write rows (objects() returns savable instances), and raw SQL writes.
ORM_WRITE = re.compile(
    r"(?<!class )\bAuditEntry\s*(\.\s*(insert|update|delete|objects|raw|alter)\b|\()"
)
SQL_WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(\s+TABLE)?|COPY)\s+\"?audit_entry\b",
    re.IGNORECASE,
)


def _python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_but_the_service_writes_audit_entries():
    offenders = []
    for path in _python_files():
        text = path.read_text()
        for pattern in (ORM_WRITE, SQL_WRITE):
            for match in pattern.finditer(text):
                if path != SERVICE:
                    line = text.count("\n", 0, match.start()) + 1
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {match.group()}")
    assert not offenders, "audit_entry written outside whistle.audit.service.append:\n" + "\n".join(
        offenders
    )


def test_inside_the_service_only_append_writes():
    tree = ast.parse(SERVICE.read_text())
    writers = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        source = ast.get_source_segment(SERVICE.read_text(), function) or ""
        if ORM_WRITE.search(source) or SQL_WRITE.search(source):
            writers.append(function.name)
    assert writers == ["append"]
    # ...and it inserts exactly once.
    assert len(re.findall(r"\bAuditEntry\.insert\(", SERVICE.read_text())) == 1


def test_the_patterns_catch_what_they_are_meant_to():
    for text in (
        "await AuditEntry.insert(row)",
        "AuditEntry.update({AuditEntry.actor: 'x'})",
        "AuditEntry.delete(force=True)",
        "row = AuditEntry(seq=1)",
        "await AuditEntry.objects().first()",
    ):
        assert ORM_WRITE.search(text), text
    for text in (
        "INSERT INTO audit_entry (seq) VALUES (1)",
        "update audit_entry set actor = 'x'",
        'DELETE FROM "audit_entry"',
        "TRUNCATE audit_entry",
    ):
        assert SQL_WRITE.search(text), text
    for text in (
        "AuditEntry.select(AuditEntry.seq)",
        "SELECT * FROM audit_entry",
        'class AuditEntry(Table, tablename="audit_entry"):',
    ):
        assert not ORM_WRITE.search(text) and not SQL_WRITE.search(text), text
