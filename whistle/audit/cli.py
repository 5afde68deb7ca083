"""`whistle audit ...`: verify the chain, sign checkpoints."""

from __future__ import annotations

import click


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""
