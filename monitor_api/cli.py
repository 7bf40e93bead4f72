"""`counterwatch serve`, `counterwatch users ...`, `counterwatch keys ...` (mounted by counterwatch/cli.py).

The account commands open the hall database without start-up recovery, so they are safe while `counterwatch run`
is running (SQLite's busy timeout serialises the writes).
"""
from __future__ import annotations

import sys
from datetime import timezone
from pathlib import Path

import click

from monitor_api.auth.keys import SCOPES
from monitor_api.storage.models import Role

ROLE_NAMES = [role.value for role in Role]


def _config(path: str):
    from counterwatch.cli import _load_or_exit

    config = _load_or_exit(path)
    assert config is not None
    return config


def _database(config):
    """The hall's database, migrated and with the hall synced (a supervisor's hall must exist), no recovery."""
    from monitor_api.storage import Database, StorageConfigError, database_url, migrate, sync_hall

    try:
        database = Database(database_url(config))
    except StorageConfigError as error:
        raise click.ClickException(str(error)) from None
    migrate(database)
    with database.write() as session:
        sync_hall(session, config)
    return database


def _passwords():
    from monitor_api.auth.passwords import Passwords

    return Passwords()


def _read_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    if password_stdin and generate:
        raise click.UsageError("use either --password-stdin or --generate")
    if generate:
        from monitor_api.auth.passwords import generate_password

        return generate_password(), True
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return click.prompt("password", hide_input=True, confirmation_prompt=True), False


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

    config = _config(config_path)
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
    from counterwatch.private_files import private_data_dir
    from monitor_api.bootstrap import load_session_secret
    from monitor_api.settings import ApiSettings
    from monitor_api.storage import database_url

    data_dir = private_data_dir(config.resolve(config.storage.data_dir).resolve())
    return ApiSettings(database_url=database_url(config), data_dir=data_dir, halls=(config,),
                       session_secret=load_session_secret(data_dir), cookie_secure=cookie_secure,
                       expect_cameras=expect_cameras, scoring_config=scoring_config)


def announce_accounts(services, config, config_path: str, bootstrap: bool) -> None:
    """Create and print the first accounts (with --bootstrap-users), or say how to get in."""
    from sqlalchemy import func, select

    from monitor_api.bootstrap import bootstrap_accounts
    from monitor_api.storage.models import UserRow

    if bootstrap:
        created = bootstrap_accounts(services.database, services.passwords, config.hall.id)
        if created:
            click.echo("first start: created these accounts; the passwords are shown only now:")
            for account in created:
                click.echo(f"  {account.username:<11} ({account.role.value})  password: {account.password}")
            return
        click.echo(f"accounts exist; to set a new password: counterwatch users passwd USERNAME --config {config_path}")
        return
    with services.database.read() as session:
        if not session.scalar(select(func.count()).select_from(UserRow)):
            click.echo(f"no accounts yet: counterwatch users add NAME --role admin --config {config_path}")


@click.group()
def users() -> None:
    """People who log in: add, list, set a password."""


@users.command("add")
@click.argument("username")
@config_option
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES))
@click.option("--hall", "halls", multiple=True, help="Hall a supervisor may see (repeatable); for role staff, the "
              "hall of the staff member (default: the config's hall).")
@click.option("--display-name", default="", help="Name shown in the dashboard.")
@click.option("--staff-id", default=None, help="Link the account to this staff member (they then see their own "
              "incidents and may appeal). Required for role staff: window staff, who see only their own record.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
def users_add(username: str, config_path: str, role: str, halls: tuple[str, ...], display_name: str,
              staff_id: str | None, password_stdin: bool, generate: bool) -> None:
    """Add a user. No default passwords: prompt, --password-stdin, or --generate."""
    from monitor_api.accounts import AccountError, add_user
    from monitor_api.storage import Actor

    config = _config(config_path)
    if role == Role.STAFF.value and len(halls) > 1:
        raise click.BadParameter("a staff member belongs to one hall", param_hint="--hall")
    staff_hall = halls[0] if role == Role.STAFF.value and halls else config.hall.id
    if role == Role.STAFF.value:
        halls = ()  # for staff, --hall named the staff member's hall, not halls to watch
    password, generated = _read_password(password_stdin, generate)
    database = _database(config)
    staff = (staff_hall, staff_id) if staff_id else None
    try:
        with database.write() as session:
            user = add_user(session, _passwords(), Actor.system("cli"), username=username, password=password,
                            role=Role(role), display_name=display_name, halls=list(halls), staff=staff)
            user_id = user.id
    except AccountError as error:
        raise click.BadParameter(str(error), param_hint=f"--{error.field.replace('_', '-')}") from None
    finally:
        database.dispose()
    click.echo(f"user {username} ({role}) created with id {user_id}")
    if generated:
        click.echo(f"password (shown once): {password}")


@users.command("passwd")
@click.argument("username")
@config_option
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
def users_passwd(username: str, config_path: str, password_stdin: bool, generate: bool) -> None:
    """Set a user's password (also clears a lockout and ends their sessions)."""
    from monitor_api.accounts import AccountError, set_password
    from monitor_api.storage import Actor, user_by_username

    config = _config(config_path)
    password, generated = _read_password(password_stdin, generate)
    database = _database(config)
    try:
        with database.write() as session:
            user = user_by_username(session, username)
            if user is None:
                raise click.BadParameter(f"no user {username!r}", param_hint="USERNAME")
            set_password(session, _passwords(), Actor.system("cli"), user, password)
    except AccountError as error:
        raise click.BadParameter(str(error), param_hint="password") from None
    finally:
        database.dispose()
    click.echo(f"password of {username} changed")
    if generated:
        click.echo(f"password (shown once): {password}")


@users.command("list")
@config_option
def users_list(config_path: str) -> None:
    """List users (never passwords)."""
    from sqlalchemy import select

    from monitor_api.accounts import user_public
    from monitor_api.storage.models import UserRow

    database = _database(_config(config_path))
    with database.read() as session:
        rows = [user_public(session, user) for user in session.scalars(select(UserRow).order_by(UserRow.id))]
    database.dispose()
    for user in rows:
        state = "active" if user.active else "inactive"
        locked = f" locked until {user.locked_until.isoformat()}" if user.locked_until else ""
        halls = ','.join(user.halls) or ('-' if user.role in (Role.SUPERVISOR, Role.STAFF) else '*')
        staff = f" staff={user.staff_hall_id}/{user.staff_id}" if user.staff_id else ""
        click.echo(f"{user.id:>4}  {user.username:<20} {user.role.value:<10} {state:<8} halls={halls}{staff}{locked}")


@click.group()
def keys() -> None:
    """Integration API keys: create (printed once), list, revoke."""


@keys.command("create")
@config_option
@click.option("--name", required=True, help="What the key is for, e.g. 叫号系统.")
@click.option("--scope", "scopes", required=True, multiple=True,
              type=click.Choice(list(SCOPES)))
@click.option("--hall", default=None, help="Restrict the key to one hall (default: every hall).")
@click.option("--expires-days", default=90.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
def keys_create(config_path: str, name: str, scopes: tuple[str, ...], hall: str | None, expires_days: float) -> None:
    """Create an API key; the key is printed once and stored only as a hash."""
    from monitor_api.accounts import AccountError, add_api_key
    from monitor_api.storage import Actor
    from monitor_api.storage.types import utcnow

    database = _database(_config(config_path))
    try:
        with database.write() as session:
            created = add_api_key(session, Actor.system("cli"), name=name, scopes=list(scopes), hall_id=hall,
                                  expires_days=expires_days, now=utcnow())
    except AccountError as error:
        raise click.BadParameter(str(error), param_hint=f"--{error.field.replace('_', '-')}") from None
    finally:
        database.dispose()
    expires = created.expires_at.astimezone(timezone.utc).isoformat() if created.expires_at else "never"
    click.echo(f"key {created.id} ({name}; {', '.join(created.scopes)}; hall {hall or '*'}; expires {expires})")
    click.echo(created.key)


@keys.command("list")
@config_option
def keys_list(config_path: str) -> None:
    from sqlalchemy import select

    from monitor_api.storage.models import ApiKeyRow

    database = _database(_config(config_path))
    with database.read() as session:
        rows = list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)))
    database.dispose()
    for row in rows:
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.id:>4}  {row.prefix:<14} {row.name:<24} {','.join(row.scopes):<32} hall={row.hall_id or '*'} "
                   f"{state} expires={row.expires_at.isoformat() if row.expires_at else 'never'}")


@keys.command("revoke")
@click.argument("key_id", type=int)
@config_option
def keys_revoke(key_id: int, config_path: str) -> None:
    """Revoke an API key at once."""
    from monitor_api.storage import Actor, record_audit, revoke_api_key
    from monitor_api.storage.types import utcnow

    database = _database(_config(config_path))
    try:
        with database.write() as session:
            try:
                row = revoke_api_key(session, key_id, utcnow())
            except LookupError:
                raise click.BadParameter(f"no API key {key_id}", param_hint="KEY_ID") from None
            record_audit(session, Actor.system("cli"), "api_key.revoke", "api_key", key_id, hall_id=row.hall_id)
    finally:
        database.dispose()
    click.echo(f"key {key_id} revoked")


@click.command("durability", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def bench_durability(context: click.Context) -> None:
    """Kill a writer with SIGKILL many times; check every reported incident survived once (options: --help)."""
    from monitor_api.storage.durability import main

    raise SystemExit(main(list(context.args)))


