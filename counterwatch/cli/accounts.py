"""`counterwatch users ...` and `counterwatch keys ...`: accounts and integration API keys of a hall's database.

These commands open the hall database without start-up recovery, so they are safe while `counterwatch run` is
running (SQLite's busy timeout serialises the writes).
"""
from __future__ import annotations

import sys
from datetime import UTC

import click

from counterwatch.cli._inputs import load_config_or_exit
from monitor_api.auth.keys import SCOPES
from monitor_api.storage.models import Role

ROLE_NAMES = [role.value for role in Role]
config_option = click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
                             help="Hall config (its storage.url is the database), or the county's county.yaml for "
                             "the centre's accounts.")


class _Target:
    """The database an account command works on: a hall's (hall config) or the county centre's (county.yaml, whose
    halls are all synced), and the hall a staff account defaults to."""

    def __init__(self, config_path: str) -> None:
        self.path = config_path
        self.halls = _halls_of(config_path)
        self.default_hall = self.halls[1][0].hall.id

    def database(self):
        """Migrated and with the halls synced (a supervisor's hall must exist), no recovery."""
        from monitor_api.storage import Database, StorageConfigError, migrate, sync_hall

        url, configs = self.halls
        try:
            database = Database(url)
        except StorageConfigError as error:
            raise click.ClickException(str(error)) from None
        migrate(database)
        with database.write() as session:
            for config in configs:
                sync_hall(session, config)
        return database


def _halls_of(config_path: str):
    from pathlib import Path

    from counterwatch.config.loader import ConfigError, read_yaml_mapping
    from monitor_api.storage import database_url

    try:
        county = "county" in read_yaml_mapping(Path(config_path), "a hall or county config")
    except ConfigError:
        county = False  # load_config_or_exit reports the problem
    if county:
        from counterwatch.cli.centre import load_county_or_exit

        loaded = load_county_or_exit(config_path)
        return loaded.config.storage.url, loaded.halls
    config = load_config_or_exit(config_path)
    return database_url(config), (config,)


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

    target = _Target(config_path)
    if role == Role.STAFF.value and len(halls) > 1:
        raise click.BadParameter("a staff member belongs to one hall", param_hint="--hall")
    staff_hall = halls[0] if role == Role.STAFF.value and halls else target.default_hall
    if role == Role.STAFF.value:
        halls = ()  # for staff, --hall named the staff member's hall, not halls to watch
    password, generated = _read_password(password_stdin, generate)
    database = target.database()
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

    target = _Target(config_path)
    password, generated = _read_password(password_stdin, generate)
    database = target.database()
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
    from monitor_api.accounts import user_public
    from monitor_api.storage.tool_reads import users_by_id

    database = _Target(config_path).database()
    with database.read() as session:
        rows = [user_public(session, user) for user in users_by_id(session)]
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

    database = _Target(config_path).database()
    try:
        with database.write() as session:
            created = add_api_key(session, Actor.system("cli"), name=name, scopes=list(scopes), hall_id=hall,
                                  expires_days=expires_days, now=utcnow())
    except AccountError as error:
        raise click.BadParameter(str(error), param_hint=f"--{error.field.replace('_', '-')}") from None
    finally:
        database.dispose()
    expires = created.expires_at.astimezone(UTC).isoformat() if created.expires_at else "never"
    click.echo(f"key {created.id} ({name}; {', '.join(created.scopes)}; hall {hall or '*'}; expires {expires})")
    click.echo(created.key)


@keys.command("list")
@config_option
def keys_list(config_path: str) -> None:
    from monitor_api.storage.tool_reads import api_keys_by_id

    database = _Target(config_path).database()
    with database.read() as session:
        rows = api_keys_by_id(session)
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

    database = _Target(config_path).database()
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
