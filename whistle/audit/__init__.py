"""Tamper-evident audit log. ``append`` is the only way to write it."""

from whistle.audit.service import AuditRecord, append

__all__ = ["AuditRecord", "append"]
