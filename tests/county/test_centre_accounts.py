"""Accounts at the county centre: `counterwatch users ... --config county.yaml` works on the county's PostgreSQL
with every hall synced, and the first start's accounts cover every hall."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from counterwatch.cli import main as cli
from counterwatch.county.loopback import simple_hall_yaml
from monitor_api.auth.passwords import Passwords
from monitor_api.bootstrap import bootstrap_accounts
from monitor_api.storage import Database, user_by_username
from monitor_api.storage.models import Role


def _county(tmp_path: Path, url: str) -> Path:
    for hall in ("hall-a", "hall-b"):
        (tmp_path / f"{hall}.yaml").write_text(simple_hall_yaml(hall, 2))
    path = tmp_path / "county.yaml"
    path.write_text(f"county: {{id: c}}\nstorage: {{url: '{url}'}}\nnats: {{servers: ['nats://127.0.0.1:4222']}}\n"
                    "halls:\n  - config: hall-a.yaml\n  - config: hall-b.yaml\n")
    return path


def test_users_commands_take_a_county_config(tmp_path: Path, county_database: str) -> None:
    config, runner = str(_county(tmp_path, county_database)), CliRunner()
    added = runner.invoke(cli, ["users", "add", "wang", "--role", "supervisor", "--hall", "hall-b",
                                "--password-stdin", "--config", config], input="a long enough password\n")
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["users", "list", "--config", config])
    assert "wang" in listed.output and "hall-b" in listed.output
    database = Database(county_database)
    try:
        with database.read() as session:
            user = user_by_username(session, "wang")
            assert user is not None and user.role is Role.SUPERVISOR
        created = bootstrap_accounts(database, Passwords(time_cost=1, memory_kib=1024, parallelism=1),
                                     ("hall-a", "hall-b"))
        assert created is None  # users exist: nothing made
    finally:
        database.dispose()


def test_first_start_at_a_centre_makes_a_county_manager(county_database: str, tmp_path: Path) -> None:
    config = _county(tmp_path, county_database)
    from counterwatch.config.county import load_county
    from monitor_api.storage.startup import open_county_database

    database, _ = open_county_database(county_database, load_county(config).halls)
    try:
        created = bootstrap_accounts(database, Passwords(time_cost=1, memory_kib=1024, parallelism=1),
                                     ("hall-a", "hall-b"))
        assert created is not None
        assert [(a.username, a.role) for a in created] == [
            ("admin", Role.ADMIN), ("supervisor", Role.SUPERVISOR), ("manager", Role.MANAGER)]
        listed = CliRunner().invoke(cli, ["users", "list", "--config", str(config)])
        supervisor_line = next(line for line in listed.output.splitlines() if "supervisor" in line.split()[:2])
        assert "hall-a" in supervisor_line and "hall-b" in supervisor_line
    finally:
        database.dispose()
