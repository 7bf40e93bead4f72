"""`--scoring-config PATH` of `counterwatch run` and `counterwatch serve`: checked at start (a missing or invalid file
exits 2 naming the file and the field, before any database, camera or server starts), and the file given is the one
the served scores use."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from counterwatch.cli import main as cli
from monitor_api.ingest import DatabaseSink
from monitor_api.storage import Database, review_incident
from monitor_api.storage.models import ReviewDecision
from tests.api.storage.helpers import HALL_YAML, T0, lifecycle
from tests.conftest import REPO

BAD_SCORING = "incidents:\n  phone_use: {points: 500}\nmonthly_base: 100\n"


def _hall(tmp_path: Path) -> Path:
    path = tmp_path / "hall.yaml"
    path.write_text(HALL_YAML.replace("sqlite:///var/counterwatch.db", f"sqlite:///{tmp_path / 'db.sqlite'}"),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["serve"], ["run", "--no-api", "--seconds", "1"]])
def test_a_bad_scoring_config_stops_the_start_naming_file_and_field(tmp_path: Path, command: list[str]) -> None:
    hall, bad, missing = _hall(tmp_path), tmp_path / "scoring.yaml", tmp_path / "nowhere.yaml"
    bad.write_text(BAD_SCORING, encoding="utf-8")
    runner = CliRunner()
    invalid = runner.invoke(cli, [*command, "--config", str(hall), "--scoring-config", str(bad)])
    assert invalid.exit_code == 2, invalid.output
    assert f"error: scoring config {bad}: incidents.phone_use.points: Input should be less than or equal to 100" \
        in invalid.output
    absent = runner.invoke(cli, [*command, "--config", str(hall), "--scoring-config", str(missing)])
    assert absent.exit_code == 2, absent.output
    assert f"error: scoring config {missing}: cannot read it: No such file or directory" in absent.output
    assert not (tmp_path / "db.sqlite").exists()  # refused before the database was opened


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _seed_confirmed_phone_use(tmp_path: Path, hall: Path) -> str:
    """A reviewer, an appraisal key and one confirmed 70-second phone use by s001 in March 2026, through the CLI and
    the storage functions; returns the key."""
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "rev", "--role", "manager", "--password-stdin", "--config",
                                str(hall)], input="a long enough password\n")
    assert added.exit_code == 0, added.output
    reviewer = int(added.output.split("with id ")[1].split()[0])
    made = runner.invoke(cli, ["keys", "create", "--name", "考核系统", "--scope", "appraisal:read", "--config",
                               str(hall)])
    assert made.exit_code == 0, made.output
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        sink = DatabaseSink(database)
        for item in lifecycle("inc-phone", start_ts=0.0):
            sink.deliver(item)
        with database.write() as session:
            review_incident(session, "inc-phone", reviewer, ReviewDecision.CONFIRM, "confirmed_as_detected", "",
                            datetime(2026, 3, 3, tzinfo=UTC))
    finally:
        database.dispose()
    assert T0.month == 3 and T0.year == 2026
    return made.output.strip().splitlines()[-1]


def test_serve_uses_the_scoring_config_given(tmp_path: Path) -> None:
    hall = _hall(tmp_path)
    yaml = YAML()
    scoring = yaml.load((REPO / "configs/scoring.yaml").read_text(encoding="utf-8"))
    assert scoring["incidents"]["phone_use"]["points"] == 2  # the shipped value, changed below
    scoring["incidents"]["phone_use"]["points"] = 7
    scoring_path = tmp_path / "scoring.yaml"
    with scoring_path.open("w", encoding="utf-8") as handle:
        yaml.dump(scoring, handle)
    key = _seed_confirmed_phone_use(tmp_path, hall)
    port, log = _free_port(), tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "from counterwatch.cli import main; main()", "serve", "--config", str(hall),
             "--port", str(port), "--scoring-config", str(scoring_path)], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline, response = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/appraisal/scores",
                                     params={"period": "2026-03", "hall": "hall-a"}, headers={"X-API-Key": key},
                                     timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, log.read_text(errors="replace")[-3000:]
        assert response.status_code == 200, response.text
        s001 = next(item for item in response.json()["halls"][0]["staff"] if item["staff_id"] == "s001")
        assert [(d["id"], d["points"]) for d in s001["deductions"]] == [("inc-phone", 7.0)]
        assert s001["score"] == 93.0
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
