"""The county centre's configuration (`counterwatch centre --config county.yaml`): its PostgreSQL database, the
NATS servers, the JetStream layout, and the halls it accepts (each by its hall config, the same file its edge runs).
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from counterwatch.config.base import Identifier, Strict
from counterwatch.config.loader import ConfigError, ConfigIssue, load_config, read_yaml_mapping, validation_issues
from counterwatch.config.schema import HallConfig
from counterwatch.config.uplink import NatsConnection


class County(Strict):
    id: Identifier = Field(description="County id.")
    name: str = Field(default="", max_length=200, description="Shown on the dashboard, e.g. 崇义县政务服务管理办公室.")


class CentreStorage(Strict):
    url: str = Field(pattern=r"^postgresql(\+psycopg)?://", description="PostgreSQL URL of the county record "
                     "(postgresql://user@host:5432/dbname; the password from PGPASSWORD or ~/.pgpass).")
    data_dir: str = Field(default="var/county", description="Where evidence from every hall is kept, relative to "
                          "the config file.")


class JetStreamLayout(Strict):
    replicas: int = Field(default=1, description="Copies of every stream and bucket: 1 on a single server, 3 on a "
                          "three-server cluster (survives losing one).")
    duplicate_window_s: float = Field(default=600.0, ge=1, le=7 * 86400, description="How long the servers "
                                      "remember a message id to drop a repeated publish.")
    files_ttl_s: float = Field(default=14 * 86400.0, ge=60, description="Evidence files not collected by the "
                               "centre within this time are dropped from the buckets.")

    @field_validator("replicas")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value not in (1, 3, 5):
            raise ValueError("replicas must be 1, 3 or 5")
        return value


class CountyHall(Strict):
    config: str = Field(description="The hall's config file (as its edge runs it), relative to this file.")


class CountyConfig(Strict):
    version: int = Field(default=1, ge=1, le=1)
    county: County
    storage: CentreStorage
    nats: NatsConnection
    jetstream: JetStreamLayout = Field(default_factory=JetStreamLayout)
    halls: tuple[CountyHall, ...] = Field(min_length=1, description="The halls whose edges this centre accepts.")


class LoadedCounty:
    """A validated county config with its hall configs loaded."""

    def __init__(self, config: CountyConfig, base_dir: Path, halls: tuple[HallConfig, ...]) -> None:
        self.config = config
        self.base_dir = base_dir
        self.halls = halls

    @property
    def hall_ids(self) -> tuple[str, ...]:
        return tuple(hall.hall.id for hall in self.halls)

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def load_county(path: str | Path) -> LoadedCounty:
    """Read and validate county.yaml and every hall config it names; ConfigError lists every problem."""
    path = Path(path)
    document = read_yaml_mapping(path, "county:, storage:, nats:, halls:")
    try:
        config = CountyConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigError(str(path), validation_issues(error, document)) from None
    base_dir = path.resolve().parent
    halls: list[HallConfig] = []
    issues: list[ConfigIssue] = []
    for index, entry in enumerate(config.halls):
        hall_path = Path(entry.config) if Path(entry.config).is_absolute() else base_dir / entry.config
        try:
            halls.append(load_config(hall_path))
        except ConfigError as error:
            issues.append(ConfigIssue(f"halls[{index}].config", "; ".join(
                issue.format(str(hall_path)) for issue in error.issues)))
    ids = [hall.hall.id for hall in halls]
    for index, hall in enumerate(halls):
        if ids.count(hall.hall.id) > 1:
            issues.append(ConfigIssue(f"halls[{index}].config", f"hall id {hall.hall.id!r} appears twice"))
        if "." in hall.hall.id:
            issues.append(ConfigIssue(f"halls[{index}].config", f"hall id {hall.hall.id!r} cannot be a NATS subject "
                                      "token: use letters, digits, '_' and '-'"))
    if issues:
        raise ConfigError(str(path), issues)
    return LoadedCounty(config, base_dir, tuple(halls))
