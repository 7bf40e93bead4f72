"""Hall configuration: one YAML file describes a hall. The schema lives here; `load_config` validates it."""
from counterwatch.config.loader import ConfigError, ConfigIssue, load_config, parse_config
from counterwatch.config.schema import HallConfig

__all__ = ["ConfigError", "ConfigIssue", "HallConfig", "load_config", "parse_config"]
