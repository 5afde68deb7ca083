"""`whistle purge`: the retention purge by hand (the worker runs it daily)."""

from __future__ import annotations

import click

CLI_ACTOR = "cli"


@click.command()
@click.option(
    "--dry-run", is_flag=True, help="Change nothing; list the cases whose content would go."
)
def purge(dry_run: bool) -> None:
    """Destroy the content and every key wrap of the cases past their retention period.

    Cases under legal hold are skipped. Works in batches, printing progress as "n/m"; an
    interrupted run leaves whole batches done, and running it again goes on from there."""
    from whistle.cases.retention import purge as run_purge
    from whistle.clitools import context_for, load_settings, run_with_db

    settings = load_settings()
    ctx = context_for(settings)

    def progress(done: int, total: int) -> None:
        click.echo(f"{done}/{total}", err=True)

    result = run_with_db(
        settings,
        lambda: run_purge(ctx, actor=CLI_ACTOR, dry_run=dry_run, progress=progress),
    )
    if dry_run:
        for case in result.cases:
            click.echo(f"{case.case_number}\t{case.status}\tclosed {case.concluded_at.date()}")
        click.echo(f"would purge {result.due} case(s); nothing changed")
    else:
        click.echo(f"purged {result.purged} case(s)")
