"""`counterwatch centre`: the county centre (every hall's record in PostgreSQL, fed by the edges over NATS
JetStream, with the API and dashboard for all of them), and `counterwatch nats-config`: the NATS server
configuration and each node's password (docs/county.md)."""
from __future__ import annotations

import secrets
import signal
import sys
import time
from pathlib import Path

import click

from counterwatch.cli.serve import announce_accounts, scoring_config_option, scoring_config_or_exit


def load_county_or_exit(path: str):
    from counterwatch.config.county import load_county
    from counterwatch.config.loader import ConfigError

    try:
        return load_county(path)
    except ConfigError as error:
        for issue in error.issues:
            click.echo(issue.format(error.filename), err=True)
        sys.exit(2)


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="County config (county.yaml: PostgreSQL, NATS, the accepted halls).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the API listens on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="API port (0: any).")
@click.option("--cookie-secure", is_flag=True, help="Mark the session cookie Secure (serve behind TLS).")
@click.option("--bootstrap-users", is_flag=True, help="On a database without users, create `admin` and "
              "`supervisor` with generated passwords (printed once).")
@click.option("--seconds", default=0.0, type=float, help="Stop after this many seconds (0: until Ctrl-C).")
@scoring_config_option
def centre(config_path: str, host: str, port: int, cookie_secure: bool, bootstrap_users: bool, seconds: float,
           scoring_config_path: str | None) -> None:
    """Run the county centre: consume every hall's messages into PostgreSQL and serve the API and dashboard."""
    from pydantic import SecretStr

    from counterwatch.county.centre import Centre
    from counterwatch.county.nats_link import LinkConfigError
    from counterwatch.private_files import private_data_dir
    from monitor_api.app import build_services, create_app
    from monitor_api.bootstrap import load_session_secret
    from monitor_api.server import ApiServer, ApiServerError
    from monitor_api.settings import ApiSettings
    from monitor_api.storage import StorageConfigError
    from monitor_api.storage.startup import open_county_database

    county = load_county_or_exit(config_path)
    scoring_config = scoring_config_or_exit(scoring_config_path)
    data_dir = private_data_dir(county.resolve(county.config.storage.data_dir).resolve())
    try:
        database, _ = open_county_database(county.config.storage.url, county.halls)
    except (StorageConfigError, OSError) as error:
        raise click.ClickException(f"county database: {error}") from None
    except Exception as error:  # psycopg's OperationalError: the server is not there
        raise click.ClickException(f"cannot open the county database {county.config.storage.url}: {error}. Start "
                                   "PostgreSQL or fix storage.url") from None
    settings = ApiSettings(database_url=county.config.storage.url, data_dir=data_dir, halls=county.halls,
                           session_secret=SecretStr(load_session_secret(data_dir)), cookie_secure=cookie_secure,
                           expect_cameras=False, scoring_config=scoring_config)
    holder: dict[str, Centre] = {}
    services = build_services(settings, database=database,
                              queue_control=lambda hall, window, paused: holder["centre"].queue_control(
                                  hall, window, paused))
    try:
        holder["centre"] = Centre(county, services, data_dir)
    except LinkConfigError as error:
        raise click.ClickException(str(error)) from None
    link = holder["centre"].start()
    announce_accounts(services, county.halls[0], config_path, bootstrap_users, hall_ids=county.hall_ids)
    try:
        server = ApiServer(create_app(settings, services=services, prepare=False), host, port).start()
    except ApiServerError as error:
        link.stop()
        raise click.ClickException(str(error)) from None
    click.echo(f"counterwatch centre: county {county.config.county.id}, halls {', '.join(county.hall_ids)}; "
               f"NATS {', '.join(county.config.nats.servers)}")
    click.echo(f"dashboard: {server.url}   API: {server.url}api/v1/docs", )

    def on_sigterm(_signum, _frame) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    try:
        while seconds <= 0 or time.monotonic() - started < seconds:
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        link.stop()
        server.stop()
        database.dispose()


@click.command("nats-config")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="County config.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for nats-server.conf and the password files (created 0700).")
@click.option("--port", default=4222, show_default=True, type=click.IntRange(1, 65535), help="Client port.")
@click.option("--store-dir", default=None, help="JetStream store directory (default: OUT/jetstream).")
@click.option("--server-name", default="counterwatch-1", show_default=True, help="This server's name (unique in "
              "a cluster).")
@click.option("--cluster-port", default=None, type=click.IntRange(1, 65535), help="Cluster port (three servers).")
@click.option("--route", "routes", multiple=True, help="nats-route://host:port of another cluster member "
              "(repeat).")
def nats_config(config_path: str, out_dir: str, port: int, store_dir: str | None, server_name: str,
                cluster_port: int | None, routes: tuple[str, ...]) -> None:
    """Write a nats-server configuration with the centre's and each hall's user (an edge may publish only its own
    hall's subjects) and a password file per node (kept when it exists). Copy edge-<hall>.password to that hall."""
    import bcrypt

    from counterwatch.county.nats_link import CENTRE_USER, edge_user, server_config
    from counterwatch.private_files import private_dir

    county = load_county_or_exit(config_path)
    out = private_dir(Path(out_dir).resolve())
    hashes: dict[str, str] = {}
    for user in (CENTRE_USER, *(edge_user(hall) for hall in county.hall_ids)):
        path = out / f"{user}.password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
            path.chmod(0o600)
        password = path.read_text(encoding="utf-8").strip().encode()
        hashes[user] = bcrypt.hashpw(password, bcrypt.gensalt(rounds=11, prefix=b"2a")).decode()
    cluster = None
    if cluster_port is not None:
        cluster = {"name": f"counterwatch-{county.config.county.id}", "port": cluster_port, "routes": list(routes)}
    text = server_config(port=port, store_dir=Path(store_dir) if store_dir else out / "jetstream", users=hashes,
                         halls=county.hall_ids, server_name=server_name, cluster=cluster)
    conf = out / "nats-server.conf"
    conf.write_text(text, encoding="utf-8")
    conf.chmod(0o600)
    click.echo(f"wrote {conf} and {len(hashes)} password file(s) in {out}; start: nats-server -c {conf}")


@click.command("push-head")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="County config.")
@click.option("--behaviour", required=True, help="Behaviour of the head, e.g. phone_use.")
@click.option("--version", "version", required=True, help="Version id in the registry (`counterwatch models "
              "list-heads`).")
@click.option("--registry", "registry_dir", default=None, type=click.Path(file_okay=False),
              help="The centre's heads registry (default: data/models/heads, then the shipped heads).")
@click.option("--hall", "halls", multiple=True, help="Hall to push to (repeat; default: every hall of the county).")
def push_head(config_path: str, behaviour: str, version: str, registry_dir: str | None, halls: tuple[str, ...]) -> None:
    """Push a promoted behaviour head to edges: each checks the files' sha256, installs and activates it (their
    running workers switch to it within 30 s) and acknowledges; `county_commands` shows who has."""
    import asyncio

    from counterwatch.county.heads import head_files, push_head as push
    from counterwatch.county.nats_link import LinkConfigError, connect_options, open_connection
    from counterwatch.learning.registry import BUILTIN_ROOT, DEFAULT_ROOT, Registry, RegistryError
    from monitor_api.storage.startup import open_county_database

    county = load_county_or_exit(config_path)
    targets = list(halls) or list(county.hall_ids)
    unknown = sorted(set(targets) - set(county.hall_ids))
    if unknown:
        raise click.BadParameter(f"not halls of this county: {unknown}", param_hint="--hall")
    registry = Registry(Path(registry_dir) if registry_dir else DEFAULT_ROOT, builtin=BUILTIN_ROOT)
    try:
        registry.load(behaviour, version)  # the file must load (and a shipped one match its card)
        files = head_files(registry.folder(behaviour, version))
    except (RegistryError, OSError) as error:
        raise click.ClickException(f"head {behaviour} {version}: {error}") from None
    try:
        options = connect_options(county.config.nats, county.base_dir, name="counterwatch-push-head",
                                  inbox_prefix="_INBOX_centre")
    except LinkConfigError as error:
        raise click.ClickException(str(error)) from None
    database, _ = open_county_database(county.config.storage.url, county.halls)

    async def main() -> list[str]:
        client = await open_connection(options)
        try:
            return await push(client.jetstream(timeout=30), database, targets, behaviour, version, files)
        finally:
            await client.close()

    commands = asyncio.run(main())
    database.dispose()
    click.echo(f"pushed {behaviour} {version} to {', '.join(targets)} ({len(commands)} command(s); the edges "
               "acknowledge in county_commands)")
