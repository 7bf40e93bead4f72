"""`counterwatch purge`: apply the hall's `storage.retention_days` once, now (what `run`/`serve` do hourly)."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from counterwatch.cli._inputs import load_config_or_exit
from counterwatch.config.schema import EVIDENCE_RETENTION_CLASSES, HallConfig

EXIT_NOT_DONE = 1  # the database cannot be used, or some files could not be deleted (retried next run)


def _open_database(config: HallConfig):
    """The hall's database, which must exist and be at the current schema: purge never creates or migrates one."""
    from monitor_api.storage import StorageConfigError
    from monitor_api.storage.tool_reads import DatabaseNotReady, open_existing_database

    try:
        return open_existing_database(config)
    except (StorageConfigError, DatabaseNotReady) as error:
        raise click.ClickException(str(error)) from None


def _days(config: HallConfig) -> str:
    return ", ".join(f"{name} {days:g} d" for name, days in config.storage.retention_days.items())


def _dry_run(config: HallConfig, database, now: datetime, as_json: bool) -> None:
    from monitor_api.retention import preview_retention

    preview = preview_retention(database, (config,), now)[config.hall.id]
    if as_json:
        click.echo(json.dumps({"hall": config.hall.id, "configured": True, "dry_run": True,
                               "retention_days": config.storage.retention_days,
                               "evidence": dict(preview.evidence.by_class),
                               "held_for_appeal": preview.evidence.held_for_appeal, "samples": preview.samples},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"hall {config.hall.id}: dry run, nothing deleted; retention {_days(config)}")
    classes = ", ".join(f"{name} {preview.evidence.by_class.get(name, 0)}" for name in EVIDENCE_RETENTION_CLASSES
                        if name in preview.evidence.by_class)
    click.echo(f"evidence: would purge {sum(preview.evidence.by_class.values())} file(s)"
               f"{f' ({classes})' if classes else ' (no evidence class configured)'}, "
               f"{preview.evidence.held_for_appeal} held for appeal")
    click.echo("samples: not configured, kept" if preview.samples is None
               else f"samples: would purge {preview.samples}")


def _purge(config: HallConfig, database, now: datetime, as_json: bool) -> int:
    from monitor_api.retention import run_retention

    data_dir = config.resolve(config.storage.data_dir).resolve()
    report = run_retention(database, data_dir, (config,), now)[config.hall.id]
    evidence, samples = report.evidence, report.samples
    failed = len(evidence.failed) + (len(samples.failed) if samples is not None else 0)
    if as_json:
        body: dict[str, Any] = {
            "hall": config.hall.id, "configured": True, "dry_run": False,
            "retention_days": config.storage.retention_days,
            "evidence": {"purged": len(evidence.purged_ids), "bytes_freed": evidence.bytes_freed,
                         "files_already_gone": evidence.files_already_gone,
                         "held_for_appeal": evidence.held_for_appeal, "failed": len(evidence.failed)},
            "samples": None if samples is None else {
                "purged": len(samples.purged_ids), "bytes_freed": samples.bytes_freed,
                "files_already_gone": samples.files_already_gone, "failed": len(samples.failed)}}
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(f"hall {config.hall.id}: retention {_days(config)}")
        click.echo(f"evidence: {len(evidence.purged_ids)} purged, {evidence.bytes_freed} bytes freed, "
                   f"{evidence.files_already_gone} already gone, {evidence.held_for_appeal} held for appeal, "
                   f"{len(evidence.failed)} failed")
        click.echo("samples: not configured, kept" if samples is None else
                   f"samples: {len(samples.purged_ids)} purged, {samples.bytes_freed} bytes freed, "
                   f"{samples.files_already_gone} already gone, {len(samples.failed)} failed")
    if failed:
        click.echo(f"error: {failed} file(s) could not be deleted (see the log); their rows stay unpurged and the "
                   "next run tries again", err=True)
    return failed


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Hall config.")
@click.option("--dry-run", is_flag=True, help="Only count what would be purged, per class; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def purge(config_path: str, dry_run: bool, as_json: bool) -> None:
    """Apply storage.retention_days once: delete expired evidence and sampled frames (rows stay, marked purged).

    Nothing is deleted when retention_days is empty. Evidence of an incident with an undecided appeal is kept.
    Exit 2 for a bad config, 1 when the database cannot be used or a file could not be deleted.
    """
    config = load_config_or_exit(config_path)
    if not config.storage.retention_days:
        if as_json:
            click.echo(json.dumps({"hall": config.hall.id, "configured": False, "dry_run": dry_run}))
        else:
            click.echo(f"hall {config.hall.id}: retention is not configured (storage.retention_days is empty): "
                       "nothing is deleted")
        return
    database = _open_database(config)
    now = datetime.now(UTC)
    try:
        if dry_run:
            _dry_run(config, database, now, as_json)
            return
        failed = _purge(config, database, now, as_json)
    finally:
        database.dispose()
    if failed:
        sys.exit(EXIT_NOT_DONE)
