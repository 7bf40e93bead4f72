"""`counterwatch check-config`."""
from __future__ import annotations

import sys

import click

from counterwatch.cli._inputs import EXIT_BAD_INPUT, load_config_or_exit


@click.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Validate a hall config file and check it can run on this machine: exit 0 (warnings allowed), or 2 listing
    every bad field with its line.

    Beyond the schema: camera files exist, are readable and decode; each model the pipeline loads is known, of the
    right kind and has its files; head versions exist; marker ids are in the marker dictionary; each pause-sign
    region holds the sign `counterwatch sign` prints. Network and USB cameras cannot be checked: warnings.
    """
    from counterwatch.config.checks import check_hall
    from counterwatch.config.loader import ConfigIssue, field_lines

    config = load_config_or_exit(path)
    findings = check_hall(config)
    lines = field_lines(path, {finding.path for finding in findings})
    errors = [finding for finding in findings if finding.level == "error"]
    for finding in errors:
        click.echo(ConfigIssue(finding.path, finding.message, lines[finding.path]).format(path), err=True)
    for finding in findings:
        if finding.level == "warning":
            click.echo("warning: " + ConfigIssue(finding.path, finding.message, lines[finding.path]).format(path),
                       err=True)
    if errors:
        sys.exit(EXIT_BAD_INPUT)
    views = sum(len(c.views) for c in config.cameras)
    warned = len(findings)
    click.echo(f"{path}: ok: hall {config.hall.id}, {len(config.windows)} windows, {len(config.cameras)} cameras "
               f"({views} window views), {len(config.staff)} staff, {len(config.roster)} roster entries"
               + (f"; {warned} warning(s)" if warned else ""))
