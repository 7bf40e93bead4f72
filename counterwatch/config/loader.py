"""Load a hall YAML file, validate it, and report every problem at once with its field path and line."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from counterwatch.config.schema import HallConfig

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails  # the TypedDict of ValidationError.errors()


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    message: str
    line: int | None = None  # 1-based

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        return f"{where}: {self.path or '<root>'}: {self.message}"


class ConfigError(Exception):
    def __init__(self, filename: str, issues: Iterable[ConfigIssue]):
        self.filename = filename
        self.issues = tuple(issues)
        lines = "\n".join(issue.format(filename) for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in {filename}:\n{lines}")


def load_config(path: str | Path) -> HallConfig:
    """Read and validate a hall config file. Raises ConfigError naming every bad field."""
    path = Path(path)
    return parse_config(_read_text(path), filename=str(path), base_dir=path.resolve().parent)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigIssue("", f"cannot read file: {exc}")]) from None


def parse_config(text: str, *, filename: str = "<config>", base_dir: Path = Path(".")) -> HallConfig:
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = f"not valid YAML: {getattr(exc, 'problem', exc)}"
        raise ConfigError(filename, [ConfigIssue("", message, line)]) from None
    if not isinstance(document, dict):
        raise ConfigError(filename,
                          [ConfigIssue("", "the file must be a YAML mapping (hall:, windows:, cameras: ...)")])
    try:
        config = HallConfig.model_validate(document)
    except ValidationError as exc:
        errors = _without_echoes(exc.errors())
        raise ConfigError(filename, [_issue_from_pydantic(error, document) for error in errors]) from None
    issues = list(cross_reference_issues(config)) + list(national_issues(config.calendar.national, base_dir))
    if issues:
        raise ConfigError(filename, [ConfigIssue(p, m, _line_of(document, _parse_path(p))) for p, m in issues])
    return config.model_copy(update={"base_dir": base_dir})


def field_lines(path: str | Path, fields: Iterable[str]) -> dict[str, int | None]:
    """The line (1-based) of each field path (e.g. cameras[0].source) in a config file that loads; a field the file
    leaves to its default gets the line of its nearest parent in the file."""
    document = YAML(typ="rt").load(Path(path).read_text(encoding="utf-8"))
    return {field: _line_of(document, _parse_path(field)) for field in fields}


def validation_issues(error: ValidationError, document: Any) -> list[ConfigIssue]:
    """Each pydantic error of a loaded YAML document as a ConfigIssue with its field path and line."""
    return [_issue_from_pydantic(item, document) for item in _without_echoes(error.errors())]


def read_yaml_mapping(path: Path, what: str) -> Any:
    """The YAML mapping in `path` (line numbers kept), or ConfigError naming the file's problem."""
    text = _read_text(path)
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(str(path), [ConfigIssue("", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                                  mark.line + 1 if mark is not None else None)]) from None
    if not isinstance(document, dict):
        raise ConfigError(str(path), [ConfigIssue("", f"the file must be a YAML mapping ({what})")])
    return document


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop a "too short" error on a list whose items already failed: pydantic reports the dropped items twice."""
    def inside(outer: tuple[int | str, ...], inner: tuple[int | str, ...]) -> bool:
        return len(inner) > len(outer) and inner[: len(outer)] == outer

    return [e for e in errors
            if not (e["type"] == "too_short" and any(inside(e["loc"], other["loc"]) for other in errors))]


def _issue_from_pydantic(error: ErrorDetails, document: Any) -> ConfigIssue:
    keys, line = _walk(document, error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; see the configuration reference in README.md)"
    return ConfigIssue(_format_path(keys), message, line)


def _walk(document: Any, loc: tuple[Any, ...]) -> tuple[list[Any], int | None]:
    """Follow a pydantic error location through the YAML tree, collecting the path and the deepest known line."""
    node, keys, line = document, [], None
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = node.lc.key(part)[0] + 1 if hasattr(node, "lc") else line
            node = node[part]
            keys.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1 if hasattr(node, "lc") else line
            node = node[part]
            keys.append(part)
        elif isinstance(part, str) and (part.isidentifier() and part not in _PYDANTIC_TAGS):
            keys.append(part)  # a missing field: name it, keep the parent's line
            node = None
        elif isinstance(part, int):
            keys.append(part)
            node = None
        # other parts are pydantic's union/validator tags (e.g. "str", "function-after[...]"): not field names
    return keys, line


_PYDANTIC_TAGS = frozenset({"str", "int", "float", "bool", "list", "tuple", "dict", "none", "date"})


def _format_path(keys: Iterable[Any]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _parse_path(path: str) -> list[Any]:
    keys: list[Any] = []
    for chunk in path.replace("]", "").split("."):
        name, *indices = chunk.split("[")
        if name:
            keys.append(name)
        keys.extend(int(i) for i in indices)
    return keys


def _line_of(document: Any, keys: list[Any]) -> int | None:
    return _walk(document, tuple(keys))[1]


def _duplicates(values: Iterable[Any]) -> set[Any]:
    return {value for value, count in Counter(values).items() if count > 1}


def national_issues(entries: tuple[str, ...], base_dir: Path) -> Iterable[tuple[str, str]]:
    """The national holiday calendars the hall names exist, parse, and give each year once."""
    from counterwatch.config.national import NationalCalendarError, load_national

    try:
        load_national(entries, base_dir)
    except NationalCalendarError as exc:
        yield f"calendar.national[{exc.index}]", str(exc)


def cross_reference_issues(config: HallConfig) -> Iterable[tuple[str, str]]:
    """Checks that span sections: unique ids, references that resolve, every window covered exactly once."""
    if config.uplink is not None and "." in config.hall.id:
        yield "hall.id", (f"hall id {config.hall.id!r} is used in NATS subjects by the uplink, which take no '.': "
                          "use letters, digits, '_' and '-'")
    window_ids = [w.id for w in config.windows]
    for i, window in enumerate(config.windows):
        if window.id in _duplicates(window_ids):
            yield f"windows[{i}].id", f"duplicate window id {window.id!r}"
        if window.schedule not in config.calendar.schedules:
            yield (f"windows[{i}].schedule", f"unknown schedule {window.schedule!r}; "
                   f"defined: {sorted(config.calendar.schedules)}")
    markers = [w.pause_marker_id for w in config.windows]
    for i, window in enumerate(config.windows):
        if window.pause_marker_id in _duplicates(markers):
            yield f"windows[{i}].pause_marker_id", f"marker id {window.pause_marker_id} is used by another window"
    camera_ids = [c.id for c in config.cameras]
    coverage: Counter[str] = Counter()
    for c, camera in enumerate(config.cameras):
        if camera.id in _duplicates(camera_ids):
            yield f"cameras[{c}].id", f"duplicate camera id {camera.id!r}"
        for v, view in enumerate(camera.views):
            coverage[view.window] += 1
            if view.window not in window_ids:
                yield f"cameras[{c}].views[{v}].window", f"unknown window {view.window!r}; defined: {window_ids}"
    for i, window in enumerate(config.windows):
        if coverage[window.id] == 0:
            yield f"windows[{i}]", f"window {window.id!r} is not covered by any camera (add a view under cameras)"
        elif coverage[window.id] > 1:
            yield f"windows[{i}]", f"window {window.id!r} is covered by {coverage[window.id]} camera views; use one"
    for window_id in config.models.window_heads:
        if window_id not in window_ids:
            yield f"models.window_heads.{window_id}", f"unknown window {window_id!r}; defined: {window_ids}"
    staff_ids = [s.id for s in config.staff]
    for i, member in enumerate(config.staff):
        if member.id in _duplicates(staff_ids):
            yield f"staff[{i}].id", f"duplicate staff id {member.id!r}"
    for i, entry in enumerate(config.roster):
        if entry.window not in window_ids:
            yield f"roster[{i}].window", f"unknown window {entry.window!r}"
        if entry.staff not in staff_ids:
            yield f"roster[{i}].staff", f"unknown staff id {entry.staff!r}"
    for i, exception in enumerate(config.calendar.exceptions):
        for j, window_id in enumerate(exception.windows):
            if window_id not in window_ids:
                yield f"calendar.exceptions[{i}].windows[{j}]", f"unknown window {window_id!r}"
