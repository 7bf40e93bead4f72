"""National holiday calendars: public holidays (法定节假日) and make-up working days (调休上班) as data files.

A hall follows them by listing files or folders under `calendar.national` (paths relative to the hall config file).
A file covers one country and one year; `counterwatch calendar update` writes it (from the chinesecalendar package,
or from a CSV typed from the State Council's notice):

    # National holidays and make-up working days of CN in 2026.
    country: CN
    year: 2026
    source: "chinesecalendar 1.11.0 (国务院办公厅关于2026年部分节假日安排的通知)"
    holidays:
      - {date: 2026-02-15, name: "春节"}
    workdays:
      - {date: 2026-02-14, name: "春节"}   # the holiday the working day makes up for

A folder stands for every `*.yaml` file in it, so a year written there later is picked up without editing the hall
config. How the hall calendar applies the days: counterwatch.rules.schedule.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from counterwatch.config.base import Strict


class NationalDay(Strict):
    date: dt.date = Field(description="The date, YYYY-MM-DD.")
    name: str = Field(default="", max_length=100, description="The holiday (for a working day: the holiday it "
                      "makes up for), e.g. 春节.")


class NationalCalendarFile(Strict):
    """One country's holidays and make-up working days of one year."""

    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 country code, e.g. CN.")
    year: int = Field(ge=1949, le=2200, description="The year every date lies in.")
    source: str = Field(default="", max_length=300, description="Where the dates come from.")
    holidays: tuple[NationalDay, ...] = Field(default=(), description="Days off: no service.")
    workdays: tuple[NationalDay, ...] = Field(default=(), description="Make-up working days (调休上班), usually a "
                                              "weekend day: a regular working day.")

    @model_validator(mode="after")
    def _consistent(self) -> NationalCalendarFile:
        seen: set[dt.date] = set()
        for day in self.holidays + self.workdays:
            if day.date.year != self.year:
                raise ValueError(f"{day.date} is not in {self.year}")
            if day.date in seen:
                raise ValueError(f"{day.date} is listed twice (a day is either a holiday or a working day)")
            seen.add(day.date)
        if not self.holidays:
            raise ValueError("no holidays listed")
        return self


class NationalCalendarError(ValueError):
    """A national calendar entry that cannot be used; `index` is its position under calendar.national."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class NationalDays:
    """Every national calendar a hall follows, merged."""

    holidays: Mapping[dt.date, str] = field(default_factory=dict)
    workdays: Mapping[dt.date, str] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    files: tuple[Path, ...] = ()

    def covers(self, year: int) -> bool:
        return year in self.years


def read_national_file(path: Path) -> NationalCalendarFile:
    """Parse one file; ValueError with a one-line reason when it is missing or malformed."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    try:
        return NationalCalendarFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{path}: {where + ': ' if where else ''}{first['msg']}") from None


def national_files(entry: str, base_dir: Path) -> list[Path]:
    """The files one calendar.national entry names: a file, or every *.yaml in a folder."""
    path = Path(entry).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if path.is_dir():
        files = sorted(path.glob("*.yaml"))
        if not files:
            raise ValueError(f"{path}: folder holds no *.yaml national calendar")
        return files
    return [path]


def load_national(entries: Sequence[str], base_dir: Path) -> NationalDays:
    """Merge the national calendars `entries` name (paths relative to `base_dir`). NationalCalendarError names the
    entry at fault: a missing or malformed file, or a year that two files cover."""
    holidays: dict[dt.date, str] = {}
    workdays: dict[dt.date, str] = {}
    owner: dict[int, Path] = {}
    files: list[Path] = []
    for index, entry in enumerate(entries):
        try:
            for path in national_files(entry, base_dir):
                calendar = read_national_file(path)
                if calendar.year in owner and owner[calendar.year].resolve() != path.resolve():
                    raise ValueError(f"{path}: {calendar.year} is already given by {owner[calendar.year]}")
                if calendar.year in owner:
                    continue  # the same file named twice (a file and its folder)
                owner[calendar.year] = path
                files.append(path)
                holidays.update((day.date, day.name) for day in calendar.holidays)
                workdays.update((day.date, day.name) for day in calendar.workdays)
        except ValueError as exc:
            raise NationalCalendarError(index, str(exc)) from None
    return NationalDays(holidays, workdays, frozenset(owner), tuple(files))


def render_national_file(calendar: NationalCalendarFile) -> str:
    """The YAML text of a national calendar file (what `counterwatch calendar update` writes)."""
    import json

    def day(item: NationalDay) -> str:
        return f"  - {{date: {item.date.isoformat()}, name: {json.dumps(item.name, ensure_ascii=False)}}}"

    lines = [f"# National holidays and make-up working days (调休上班) of {calendar.country} in {calendar.year}.",
             "# Written by `counterwatch calendar update`; to change it, run the command again (see README.md).",
             f"country: {calendar.country}",
             f"year: {calendar.year}",
             f"source: {json.dumps(calendar.source, ensure_ascii=False)}",
             "holidays:"]
    lines += [day(item) for item in sorted(calendar.holidays, key=lambda d: d.date)]
    lines.append("workdays:" if calendar.workdays else "workdays: []")
    lines += [day(item) for item in sorted(calendar.workdays, key=lambda d: d.date)]
    return "\n".join(lines) + "\n"
