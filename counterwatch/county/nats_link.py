"""Connecting to the county's NATS servers, the JetStream layout, and the server's per-node accounts.

Layout (created by the centre; an edge only uses it):
- stream `CW_UP`, subjects `cw.up.>`: everything the edges send; work-queue retention (a message is deleted once the
  centre acknowledged storing it), file storage, `replicas` copies in a cluster, de-duplication by Nats-Msg-Id over
  `duplicate_window_s`.
- stream `CW_CMD`, subjects `cw.cmd.>`: commands to edges, one durable pull consumer per hall (`edge_<hall>`).
- one Object Store bucket per hall, `cw-files-<hall>`: evidence and sampled frames, deleted by the centre once stored
  (and expired after `files_ttl_s` in any case).
- durable pull consumer `centre` on CW_UP.

Accounts (`server_config`): the centre may do everything; each edge, `edge-<hall>`, may publish only under
`cw.up.<hall>.`, use only its own bucket and its own command consumer, and receive replies only on its own inbox
prefix `_INBOX_<hall>` (so it cannot read replies meant for the centre or another hall).
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError

from counterwatch.config.uplink import NatsConnection
from counterwatch.county import wire

logger = logging.getLogger("counterwatch.county")

CENTRE_CONSUMER = "centre"
CENTRE_USER = "centre"


class LinkConfigError(RuntimeError):
    """Credentials or TLS files named by the config cannot be used; the message names the file and the fix."""


def edge_user(hall_id: str) -> str:
    return f"edge-{wire.check_hall(hall_id)}"


def edge_inbox(hall_id: str) -> str:
    return f"_INBOX_{wire.check_hall(hall_id)}"


def read_password(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise LinkConfigError(f"cannot read the NATS password file {path}: {error.strerror or error}; "
                              "`counterwatch nats-config` writes one per node") from None
    if not text:
        raise LinkConfigError(f"the NATS password file {path} is empty")
    return text


def tls_context(connection: NatsConnection, base_dir: Path) -> ssl.SSLContext | None:
    if connection.tls is None:
        return None
    tls = connection.tls
    try:
        context = ssl.create_default_context(cafile=str(base_dir / tls.ca_file))
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(str(base_dir / tls.cert_file), str(base_dir / tls.key_file))
    except (OSError, ssl.SSLError) as error:
        raise LinkConfigError(f"TLS files of the NATS connection cannot be loaded: {error}") from None
    return context


def connect_options(connection: NatsConnection, base_dir: Path, *, name: str, inbox_prefix: str) -> dict[str, Any]:
    """Keyword arguments of nats.connect: credentials, TLS, reconnecting for ever."""
    options: dict[str, Any] = {
        "servers": list(connection.servers), "name": name, "inbox_prefix": inbox_prefix,
        "connect_timeout": connection.connect_timeout_s, "allow_reconnect": True, "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1.0, "ping_interval": 10, "max_outstanding_pings": 3,
    }
    if connection.user is not None and connection.password_file is not None:
        options["user"] = connection.user
        options["password"] = read_password(base_dir / connection.password_file)
    context = tls_context(connection, base_dir)
    if context is not None:
        options["tls"] = context
    return options


async def run_side_by_side(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run the coroutines as tasks until all have returned or one fails; a failure cancels the others, waits for
    them to end and is raised. (asyncio.gather would leave the others running, so every retry after a failure would
    add another set of loops on the same connection.)"""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failure = next((task.exception() for task in tasks if task in done and not task.cancelled()
                    and task.exception() is not None), None)
    if failure is not None:
        raise failure


async def until_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` until it ends (its error is raised) or `stop` is set (it is cancelled): True when stopped. A stop
    does not wait for a publish or fetch in flight to time out."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        stopper.cancel()
        await asyncio.gather(stopper, return_exceptions=True)
        task.result()
        return False
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return True


async def close_quietly(client: Client | None, timeout_s: float = 5.0) -> None:
    """Close a connection without waiting long on servers that are gone (what was not acknowledged is kept)."""
    if client is None or client.is_closed:
        return
    try:
        await asyncio.wait_for(client.close(), timeout_s)
    except Exception:
        logger.debug("closing the NATS connection failed", exc_info=True)


async def open_connection(options: dict[str, Any], *, on_change: Callable[[bool], Awaitable[None]] | None = None,
                          ) -> Client:
    """Connect (raises on a failed first attempt; the caller retries); later drops reconnect by themselves."""
    async def disconnected() -> None:
        if on_change is not None:
            await on_change(False)

    async def reconnected() -> None:
        if on_change is not None:
            await on_change(True)

    async def error(exc: Exception) -> None:
        logger.warning("NATS: %s", exc)

    return await nats.connect(**options, disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error)


async def ensure_layout(js: JetStreamContext, halls: Iterable[str], *, replicas: int = 1,
                        duplicate_window_s: float = 600.0, files_ttl_s: float = 14 * 86400.0,
                        max_up_bytes: int = -1) -> None:
    """Create (or update) the streams, the buckets and the consumers; safe to run at every start."""
    streams = (
        api.StreamConfig(name=wire.UP_STREAM, subjects=["cw.up.>"], retention=api.RetentionPolicy.WORK_QUEUE,
                         storage=api.StorageType.FILE, num_replicas=replicas, duplicate_window=duplicate_window_s,
                         max_bytes=max_up_bytes, description="counterwatch: edges to the centre"),
        api.StreamConfig(name=wire.COMMAND_STREAM, subjects=["cw.cmd.>"], retention=api.RetentionPolicy.WORK_QUEUE,
                         storage=api.StorageType.FILE, num_replicas=replicas, duplicate_window=duplicate_window_s,
                         description="counterwatch: centre to the edges"),
    )
    for config in streams:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
    await js.add_consumer(wire.UP_STREAM, api.ConsumerConfig(
        durable_name=CENTRE_CONSUMER, ack_policy=api.AckPolicy.EXPLICIT, ack_wait=30.0, max_deliver=-1,
        max_ack_pending=2000, filter_subject="cw.up.>"))
    for hall in halls:
        bucket = wire.evidence_bucket(hall)
        try:
            await js.create_object_store(bucket, api.ObjectStoreConfig(
                description=f"counterwatch files of hall {hall}", ttl=files_ttl_s, replicas=replicas,
                storage=api.StorageType.FILE))
        except BadRequestError:
            pass  # exists (with another ttl or replica count, set by an operator): keep it
        await js.add_consumer(wire.COMMAND_STREAM, api.ConsumerConfig(
            durable_name=wire.command_consumer(hall), ack_policy=api.AckPolicy.EXPLICIT, ack_wait=30.0,
            max_deliver=-1, filter_subject=f"cw.cmd.{hall}.>"))


def edge_permissions(hall_id: str) -> dict[str, list[str]]:
    """What the edge of `hall_id` may publish and subscribe to (nats-server permissions)."""
    bucket_stream = f"OBJ_{wire.evidence_bucket(hall_id)}"
    consumer = wire.command_consumer(hall_id)
    publish = [
        f"cw.up.{hall_id}.>",
        f"$O.{wire.evidence_bucket(hall_id)}.>",
        f"$JS.API.STREAM.INFO.{bucket_stream}",
        f"$JS.API.STREAM.MSG.GET.{bucket_stream}",
        f"$JS.API.STREAM.PURGE.{bucket_stream}",
        f"$JS.API.DIRECT.GET.{bucket_stream}",
        f"$JS.API.DIRECT.GET.{bucket_stream}.>",
        # Reading a head the centre pushed into the bucket: an ordered consumer on the bucket's stream.
        "$JS.API.STREAM.NAMES",
        f"$JS.API.CONSUMER.CREATE.{bucket_stream}",
        f"$JS.API.CONSUMER.CREATE.{bucket_stream}.>",
        f"$JS.API.CONSUMER.DELETE.{bucket_stream}.>",
        f"$JS.FC.{bucket_stream}.>",
        f"$JS.API.CONSUMER.INFO.{wire.COMMAND_STREAM}.{consumer}",
        f"$JS.API.CONSUMER.MSG.NEXT.{wire.COMMAND_STREAM}.{consumer}",
        f"$JS.ACK.{wire.COMMAND_STREAM}.{consumer}.>",
    ]
    return {"publish": publish, "subscribe": [f"{edge_inbox(hall_id)}.>"]}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_quote(value) for value in values) + "]"


def server_config(*, port: int, store_dir: Path, users: dict[str, str], halls: Iterable[str], host: str = "0.0.0.0",
                  server_name: str = "counterwatch-1", cluster: dict[str, Any] | None = None,
                  tls: dict[str, str | bool] | None = None, monitor_port: int | None = None,
                  max_file_store: str = "20G") -> str:
    """A nats-server configuration: JetStream on `store_dir`, the centre's and each hall's user with its
    permissions. `users` maps user name -> bcrypt hash of the password. `cluster`: {"name", "port", "routes"}.
    `tls`: the server's tls block, e.g. {"cert_file": ..., "key_file": ..., "ca_file": ..., "verify": True} (verify:
    clients must present a certificate the CA signed)."""
    lines = [f"server_name: {_quote(server_name)}", f"host: {_quote(host)}", f"port: {port}"]
    if monitor_port is not None:
        lines.append(f"http_port: {monitor_port}")
    lines += ["jetstream {", f"  store_dir: {_quote(str(store_dir))}", f"  max_file_store: {max_file_store}", "}"]
    if tls is not None:
        lines += ["tls {", *(f"  {key}: {str(value).lower() if isinstance(value, bool) else _quote(value)}"
                             for key, value in tls.items()), "}"]
    if cluster is not None:
        lines += ["cluster {", f"  name: {_quote(cluster['name'])}", f"  host: {_quote(host)}",
                  f"  port: {cluster['port']}", f"  routes: {_list(cluster['routes'])}", "}"]
    lines.append("authorization {")
    lines.append("  users: [")
    if CENTRE_USER in users:
        lines.append(f"    {{user: {_quote(CENTRE_USER)}, password: {_quote(users[CENTRE_USER])}}}")
    for hall in halls:
        user = edge_user(hall)
        if user not in users:
            raise LinkConfigError(f"no password hash for {user}")
        permissions = edge_permissions(hall)
        lines.append(f"    {{user: {_quote(user)}, password: {_quote(users[user])}, permissions: {{"
                     f"publish: {{allow: {_list(permissions['publish'])}}}, "
                     f"subscribe: {{allow: {_list(permissions['subscribe'])}}}}}}}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
