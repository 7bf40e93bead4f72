"""`counterwatch calendar`: write the national holiday calendar of a year (see counterwatch.config.national).

Two sources, both offline: the installed chinesecalendar package (its data follow the State Council's yearly notice,
国务院办公厅关于部分节假日安排的通知; a new year arrives with a new release of the package), or a CSV file typed
from the notice, one row a day:

    date,kind,name
    2027-01-01,holiday,元旦
    2027-02-07,workday,春节

`kind` is `holiday` (no service) or `workday` (a make-up working day, 调休上班); `name` is the holiday (for a working
day, the holiday it makes up for). List every day off of each holiday period, weekends inside it included.
"""
from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from counterwatch.cli._inputs import EXIT_BAD_INPUT
from counterwatch.config.national import NationalCalendarFile, NationalDay, read_national_file, render_national_file

COUNTRY = "CN"


class SourceError(Exception):
    pass


def from_chinesecalendar(year: int) -> NationalCalendarFile:
    """The year's days from the chinesecalendar package; SourceError when it has none for that year."""
    try:
        import chinese_calendar  # type: ignore[import-untyped]
        from chinese_calendar.constants import Holiday, holidays, workdays  # type: ignore[import-untyped]
    except ImportError:
        raise SourceError("the chinesecalendar package is not installed (pip install chinesecalendar), "
                          "or import the notice's dates with --from FILE.csv") from None
    version = getattr(chinese_calendar, "__version__", "?")
    chinese = {holiday.value: holiday.chinese for holiday in Holiday}
    off = [NationalDay(date=day, name=chinese.get(name, name)) for day, name in holidays.items() if day.year == year]
    on = [NationalDay(date=day, name=chinese.get(name, name)) for day, name in workdays.items() if day.year == year]
    if not off:
        raise SourceError(f"chinesecalendar {version} has no dates for {year}: once the State Council has published "
                          f"{year}'s arrangement, upgrade it (pip install -U chinesecalendar) or import the notice's "
                          "dates with --from FILE.csv")
    return NationalCalendarFile(country=COUNTRY, year=year, holidays=tuple(off), workdays=tuple(on),
                                source=f"chinesecalendar {version} (国务院办公厅关于{year}年部分节假日安排的通知)")


def from_csv(path: Path, year: int, source: str) -> NationalCalendarFile:
    """The days of a CSV file (date,kind,name); SourceError naming the first bad row."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    off: list[NationalDay] = []
    on: list[NationalDay] = []
    for number, row in enumerate(rows, start=2):
        try:
            date = dt.date.fromisoformat((row.get("date") or "").strip())
        except ValueError:
            raise SourceError(f"{path}:{number}: date must be YYYY-MM-DD, got {row.get('date')!r}") from None
        kind = (row.get("kind") or "").strip()
        if kind not in ("holiday", "workday"):
            raise SourceError(f"{path}:{number}: kind must be holiday or workday, got {kind!r}")
        (off if kind == "holiday" else on).append(NationalDay(date=date, name=(row.get("name") or "").strip()))
    try:
        return NationalCalendarFile(country=COUNTRY, year=year, holidays=tuple(off), workdays=tuple(on),
                                    source=source or path.name)
    except ValidationError as exc:
        raise SourceError(f"{path}: {exc.errors()[0]['msg']}") from None


@click.group("calendar")
def calendar_cli() -> None:
    """National holidays and make-up working days (调休) that hall calendars follow (calendar.national)."""


@calendar_cli.command("update")
@click.option("--year", required=True, type=click.IntRange(1949, 2200), help="The year to write.")
@click.option("--from", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Import the days from this CSV (date,kind,name) instead of the chinesecalendar package.")
@click.option("--source", default="", help="With --from: where the dates come from (default: the CSV's name).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: configs/calendars/cn-YEAR.yaml).")
def update(year: int, csv_path: Path | None, source: str, out: Path | None) -> None:
    """Write the year's national calendar file, for halls whose calendar.national names it or its folder."""
    out = out or Path("configs/calendars") / f"{COUNTRY.lower()}-{year}.yaml"
    try:
        calendar = from_csv(csv_path, year, source) if csv_path else from_chinesecalendar(year)
    except SourceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_national_file(calendar), encoding="utf-8")
    written = read_national_file(out)  # what the halls will read
    click.echo(f"{out}: {written.country} {written.year}: {len(written.holidays)} holidays, "
               f"{len(written.workdays)} make-up working days ({written.source})")
