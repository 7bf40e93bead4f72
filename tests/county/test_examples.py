"""The county examples in configs/county/ load with the real loaders, and the systemd units start commands that
exist."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from counterwatch.cli import main
from counterwatch.config import load_config
from counterwatch.config.county import load_county
from tests.conftest import REPO

EXAMPLES = REPO / "configs" / "county"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda path: path.name)
def test_example_config_loads(path: Path) -> None:
    if "county" in YAML(typ="safe").load(path.read_text(encoding="utf-8")):
        county = load_county(path)
        assert county.hall_ids and len(set(county.hall_ids)) == len(county.hall_ids)
        assert all(hall.uplink is not None for hall in county.halls if hall.base_dir == EXAMPLES)
    else:
        hall = load_config(path)
        assert hall.uplink is not None, f"{path.name} is an edge's config: it needs its uplink section"


def test_there_are_a_county_and_an_edge_example() -> None:
    assert (EXAMPLES / "county.example.yaml").is_file() and (EXAMPLES / "hall-edge.example.yaml").is_file()
    county = load_county(EXAMPLES / "county.example.yaml")
    assert load_config(EXAMPLES / "hall-edge.example.yaml").hall.id in county.hall_ids


@pytest.mark.parametrize("unit", sorted(EXAMPLES.glob("*.service")), ids=lambda path: path.name)
def test_systemd_unit(unit: Path) -> None:
    text = unit.read_text(encoding="utf-8")
    for key in ("User=", "ReadWritePaths=", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict"):
        assert re.search(rf"^{re.escape(key)}", text, re.MULTILINE), f"{unit.name} lacks {key}"
    exec_start = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    assert exec_start is not None
    argv = shlex.split(exec_start[1])
    if Path(argv[0]).name == "counterwatch":
        assert argv[1] in main.commands, f"{unit.name}: no command `counterwatch {argv[1]}`"
        assert "--config" in argv
