"""`whistle audit ...`: verify the chain, sign checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

CLI_ACTOR = "cli"


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the checkpoint to this file instead of standard output.",
)
def checkpoint(output: Path | None) -> None:
    """Sign the chain's head (sequence, hash) for keeping outside the server.

    Taking it appends an audit.checkpoint entry, and the checkpoint names that entry as the head.
    """
    from whistle.audit.checkpoint import take_checkpoint
    from whistle.clitools import context_for, load_settings, run_with_db

    settings = load_settings()
    ctx = context_for(settings)
    signed = run_with_db(settings, lambda: take_checkpoint(ctx.keyring, actor=CLI_ACTOR))
    if output is None:
        click.echo(signed.to_json(), nl=False)
    else:
        output.write_text(signed.to_json())
        click.echo(f"checkpoint of entry {signed.seq} written to {output}", err=True)


class _Progress:
    """A bar on a terminal; otherwise a counter line every tenth of the way."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.next_report = self.total / 10
        self.bar = None
        if sys.stderr.isatty():
            self.bar = click.progressbar(
                length=self.total, label="verifying", file=sys.stderr, show_pos=True
            )
            self.bar.__enter__()

    def advance(self, count: int) -> None:
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
        elif self.done >= self.next_report:
            click.echo(f"checked {self.done}/{self.total} entries", err=True)
            while self.next_report <= self.done:
                self.next_report += self.total / 10

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@audit.command()
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint from `whistle audit checkpoint`: the chain must still extend it.",
)
@click.option(
    "--since-checkpoint",
    is_flag=True,
    help="Check only what follows the newest stored checkpoint whose signature verifies.",
)
@click.option("--batch-size", type=click.IntRange(min=1), help="Entries per read (default 5,000).")
def verify(checkpoint_file: Path | None, since_checkpoint: bool, batch_size: int | None) -> None:
    """Recompute the chain, check every stored signed checkpoint, and name the first broken
    entry (exit status 1)."""
    from whistle.audit.checkpoint import CheckpointError, check_with_any, parse
    from whistle.audit.verify import DEFAULT_BATCH, chain_length, verify_chain
    from whistle.clitools import context_for, load_settings, run_with_db

    settings = load_settings()
    ctx = context_for(settings)
    verify_keys = ctx.keyring.audit_verify_keys
    signed = None
    if checkpoint_file is not None:
        try:
            signed = parse(checkpoint_file.read_text())
            check_with_any(signed, verify_keys)
        except (CheckpointError, UnicodeDecodeError) as error:
            raise click.ClickException(f"checkpoint refused: {error}") from None

    async def work():
        progress = _Progress(await chain_length())
        try:
            return await verify_chain(
                signed,
                batch_size=batch_size or DEFAULT_BATCH,
                progress=progress.advance,
                verify_keys=verify_keys,
                since_checkpoint=since_checkpoint,
            )
        finally:
            progress.close()

    result = run_with_db(settings, work)
    if result.ok:
        extends = f"; extends the checkpoint at entry {signed.seq}" if signed else ""
        click.echo(
            f"OK: {result.entries_checked} entries, head {result.head_seq}/{result.head_hash}"
            f"{extends}"
        )
        return
    problem = result.problem
    click.echo(f"BROKEN at entry {problem.seq} ({problem.kind}): {problem.explanation}")
    click.echo(
        f"{result.entries_checked} entries before it are intact "
        f"(up to {result.head_seq}/{result.head_hash})"
    )
    click.get_current_context().exit(1)


@audit.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Replace the audit signing key; the old public key stays in keys/ for old checkpoints."""
    from whistle.audit.checkpoint import key_fingerprint
    from whistle.clitools import load_settings
    from whistle.crypto import CryptoError, rotate_audit_signing_key

    settings = load_settings()
    try:
        public = rotate_audit_signing_key(settings.keys_dir)
    except (CryptoError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"new audit signing key {key_fingerprint(public)}; restart the worker")
