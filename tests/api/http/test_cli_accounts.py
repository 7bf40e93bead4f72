"""`counterwatch users` and `counterwatch keys`: no default passwords, secrets printed once, nothing secret stored."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from counterwatch.cli import main as cli
from monitor_api.auth.passwords import Passwords
from monitor_api.bootstrap import bootstrap_accounts, load_session_secret
from monitor_api.storage import Database, database_url, migrate, sync_hall, user_by_username
from monitor_api.storage.models import ApiKeyRow
from tests.api.storage.helpers import HALL_YAML


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "hall.yaml"
    path.write_text(HALL_YAML.replace("sqlite:///var/counterwatch.db", f"sqlite:///{tmp_path / 'db.sqlite'}"),
                    encoding="utf-8")
    return path


def test_users_add_list_passwd(tmp_path: Path) -> None:
    config, runner = str(_config(tmp_path)), CliRunner()
    generated = runner.invoke(cli, ["users", "add", "zhang", "--role", "supervisor", "--hall", "hall-a",
                                    "--display-name", "张主任", "--generate", "--config", config])
    assert generated.exit_code == 0, generated.output
    password = generated.output.strip().splitlines()[-1].split(": ")[-1]
    assert len(password) >= 16
    no_password = runner.invoke(cli, ["users", "add", "li", "--role", "auditor", "--config", config], input="")
    assert no_password.exit_code != 0  # no prompt answer, no user: there is no default password
    short = runner.invoke(cli, ["users", "add", "li", "--role", "auditor", "--password-stdin", "--config", config],
                          input="short\n")
    assert short.exit_code == 2 and "password" in short.output
    wrong_hall = runner.invoke(cli, ["users", "add", "wang", "--role", "supervisor", "--hall", "nowhere",
                                     "--password-stdin", "--config", config], input="long enough pass\n")
    assert wrong_hall.exit_code == 2 and "nowhere" in wrong_hall.output
    listed = runner.invoke(cli, ["users", "list", "--config", config])
    assert "zhang" in listed.output and "hall-a" in listed.output and password not in listed.output
    changed = runner.invoke(cli, ["users", "passwd", "zhang", "--password-stdin", "--config", config],
                            input="a brand new password\n")
    assert changed.exit_code == 0, changed.output
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with database.read() as session:
        user = user_by_username(session, "zhang")
        assert user is not None and user.password_hash and user.password_hash.startswith("$argon2id$")
        assert Passwords().verify(user.password_hash, "a brand new password")
    database.dispose()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    config, runner = str(_config(tmp_path)), CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--name", "queue", "--scope", "queue:pause", "--hall", "hall-a",
                                  "--expires-days", "30", "--config", config])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("cwk_")
    listed = runner.invoke(cli, ["keys", "list", "--config", config])
    assert "queue:pause" in listed.output and key not in listed.output
    assert runner.invoke(cli, ["keys", "create", "--name", "x", "--scope", "root", "--config", config]).exit_code == 2
    revoked = runner.invoke(cli, ["keys", "revoke", "1", "--config", config])
    assert revoked.exit_code == 0, revoked.output
    assert runner.invoke(cli, ["keys", "revoke", "99", "--config", config]).exit_code == 2
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with database.read() as session:
        row = session.get(ApiKeyRow, 1)
        assert row is not None and row.revoked_at is not None and key not in row.key_hash
    database.dispose()


def test_first_start_accounts_and_session_secret(tmp_path: Path) -> None:
    from tests.api.storage.helpers import hall_config

    config = hall_config(HALL_YAML.replace("sqlite:///var/counterwatch.db", f"sqlite:///{tmp_path / 'db.sqlite'}"),
                         base_dir=tmp_path)
    database = Database(database_url(config))
    migrate(database)
    with database.write() as session:
        sync_hall(session, config)
    passwords = Passwords(time_cost=1, memory_kib=1024, parallelism=1)
    created = bootstrap_accounts(database, passwords, "hall-a")
    assert created is not None and [a.username for a in created] == ["admin", "supervisor"]
    assert len({a.password for a in created}) == 2
    with database.read() as session:
        admin = user_by_username(session, "admin")
        assert admin is not None and passwords.verify(admin.password_hash, created[0].password)
    assert bootstrap_accounts(database, passwords, "hall-a") is None  # second start: nothing new
    database.dispose()
    secret = load_session_secret(tmp_path / "data")
    assert len(secret) >= 32 and load_session_secret(tmp_path / "data") == secret
    assert oct((tmp_path / "data" / ".session-secret").stat().st_mode & 0o777) == "0o600"
