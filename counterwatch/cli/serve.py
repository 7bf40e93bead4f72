"""`counterwatch serve`, and what `serve` and `run` share: the API settings of a hall config, the --scoring-config
option checked before anything starts, and the first accounts (--bootstrap-users)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from counterwatch.cli._inputs import load_config_or_exit

config_option = click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
                             help="Hall config (its storage.url is the database).")
scoring_config_option = click.option(
    "--scoring-config", "scoring_config_path", default=None, type=click.Path(dir_okay=False),
    help="Appraisal scoring file like configs/scoring.yaml (ApiSettings.scoring_config; default: the built-in "
    "values). Checked at start: a missing or invalid file exits 2 naming the file and the field.")


def scoring_config_or_exit(path: str | None) -> Path | None:
    """The absolute path of a valid scoring config (None: the built-in defaults). A missing, unreadable or invalid
    file exits 2 with one line per problem, `error: scoring config FILE: field.path: message`, before anything
    starts."""
    if path is None:
        return None
    from pydantic import ValidationError
    from ruamel.yaml.error import YAMLError

    from monitor_api.scoring import load_scoring_config

    resolved = Path(path).resolve()
    try:
        load_scoring_config(resolved)
        return resolved
    except OSError as error:
        problems = [f"cannot read it: {error.strerror or error}"]
    except YAMLError as error:
        problems = [f"not valid YAML: {' '.join(str(error).split())}"]
    except ValidationError as error:
        problems = [f"{'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
                    for item in error.errors()]
    for problem in problems:
        click.echo(f"error: scoring config {path}: {problem}", err=True)
    sys.exit(2)


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--cookie-secure", is_flag=True, help="Mark the session cookie Secure (serve behind TLS).")
@click.option("--bootstrap-users", is_flag=True, help="On a database without users, create `admin` and "
              "`supervisor` with generated passwords (printed once).")
@scoring_config_option
def serve(config_path: str, host: str, port: int, cookie_secure: bool, bootstrap_users: bool,
          scoring_config_path: str | None) -> None:
    """Serve the API and dashboard only (no cameras): incidents come from another node or were stored earlier."""
    import uvicorn

    from monitor_api.app import build_services, create_app
    from monitor_api.server import uvicorn_config
    from monitor_api.storage import open_hall_database

    config = load_config_or_exit(config_path)
    scoring_config = scoring_config_or_exit(scoring_config_path)
    database, report = open_hall_database(config)
    settings = api_settings(config, cookie_secure=cookie_secure, expect_cameras=False, scoring_config=scoring_config)
    services = build_services(settings, database=database)
    announce_accounts(services, config, config_path, bootstrap_users)
    app = create_app(settings, services=services, prepare=False)
    click.echo(f"counterwatch serve: hall {config.hall.id}; dashboard http://{host}:{port}/ ; "
               f"API http://{host}:{port}/api/v1/docs")
    uvicorn.Server(uvicorn_config(app, host, port, log_level="info")).run()


def api_settings(config, *, cookie_secure: bool, expect_cameras: bool, scoring_config: Path | None = None):
    """ApiSettings of `run` and `serve`; `scoring_config` comes from scoring_config_or_exit (already validated)."""
    from pydantic import SecretStr

    from counterwatch.private_files import private_data_dir
    from monitor_api.bootstrap import load_session_secret
    from monitor_api.settings import ApiSettings
    from monitor_api.storage import database_url

    data_dir = private_data_dir(config.resolve(config.storage.data_dir).resolve())
    return ApiSettings(database_url=database_url(config), data_dir=data_dir, halls=(config,),
                       session_secret=SecretStr(load_session_secret(data_dir)), cookie_secure=cookie_secure,
                       expect_cameras=expect_cameras, scoring_config=scoring_config)


def announce_accounts(services, config, config_path: str, bootstrap: bool, hall_ids: tuple[str, ...] = ()) -> None:
    """Create and print the first accounts (with --bootstrap-users), or say how to get in. `hall_ids`: every hall
    served (a county centre); default the config's hall."""
    from monitor_api.bootstrap import bootstrap_accounts
    from monitor_api.storage.tool_reads import any_user

    if bootstrap:
        created = bootstrap_accounts(services.database, services.passwords, hall_ids or config.hall.id)
        if created:
            click.echo("first start: created these accounts; the passwords are shown only now:")
            for account in created:
                click.echo(f"  {account.username:<11} ({account.role.value})  password: {account.password}")
            return
        click.echo(f"accounts exist; to set a new password: counterwatch users passwd USERNAME --config {config_path}")
        return
    with services.database.read() as session:
        if not any_user(session):
            click.echo(f"no accounts yet: counterwatch users add NAME --role admin --config {config_path}")
