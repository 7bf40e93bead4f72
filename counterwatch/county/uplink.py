"""The edge's sender and command receiver: outbox -> JetStream (files -> the hall's Object Store bucket), and the
centre's commands -> EdgeCommands. Runs on its own thread with its own asyncio loop, beside the hall's pipeline.

Delivery: the oldest outbox messages are read in order; for each, its files are put into the bucket first (skipped
when the bucket already holds the same sha256), then the message is published with its outbox msg_id as Nats-Msg-Id
and removed from the outbox only once the server acknowledged it. A cut link, a refused publish or a crash leaves the
message in the outbox; sending it again is harmless (the server's de-duplication window and the centre's idempotent
ingest). While the link is down the outbox grows, bounded by `outbox_max_messages` (monitor_api.storage.outbox).
"""
from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from counterwatch.config.uplink import UplinkConfig
from counterwatch.county import wire
from counterwatch.county.edge import EdgeCommands
from counterwatch.county.nats_link import (
    close_quietly,
    connect_options,
    edge_inbox,
    open_connection,
    run_side_by_side,
    until_stopped,
)
from monitor_api.live.state import LinkStatus
from monitor_api.storage import Database
from monitor_api.storage.evidence import EvidencePathError, resolve_evidence_path
from monitor_api.storage.models import OutboxRow
from monitor_api.storage.outbox import next_batch, outbox_depth, remove_sent, trim_outbox
from monitor_api.storage.types import utcnow

logger = logging.getLogger("counterwatch.county")

DELIVERED_FILES_REMEMBERED = 10_000
LinkReporter = Callable[[LinkStatus], None]
DroppedReporter = Callable[[dict[str, int]], None]


def sha256_digest(hex_digest: str) -> str:
    """The Object Store's digest form of a hex sha256 ("SHA-256=<base64url>")."""
    return "SHA-256=" + base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).decode()


class Uplink:
    def __init__(self, config: UplinkConfig, base_dir: Path, hall_id: str, database: Database, data_dir: Path, *,
                 commands: EdgeCommands | None = None, report: LinkReporter | None = None,
                 dropped: DroppedReporter | None = None, idle_s: float = 0.2) -> None:
        self._config = config
        self._options = connect_options(config, base_dir, name=f"counterwatch-edge-{hall_id}",
                                        inbox_prefix=edge_inbox(hall_id))
        self.hall_id = wire.check_hall(hall_id)
        self._database = database
        self._data_dir = data_dir
        self._commands = commands
        self._report = report
        self._dropped = dropped
        self._idle_s = idle_s
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._connected = False
        self._bucket: ObjectStore | None = None
        self.sent = 0  # messages acknowledged by the server
        self.files_sent = 0
        # (path, sha256) of files whose message the server acknowledged, oldest first.
        self._delivered_files: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.commands_applied = 0
        self.last_error = ""
        self._ready = threading.Event()

    # ---- thread ---------------------------------------------------------------------------------------------------

    def start(self) -> Uplink:
        self._thread = threading.Thread(target=self._run, name=f"uplink-{self.hall_id}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    # ---- main loop ------------------------------------------------------------------------------------------------

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._ready.set()
        client: Client | None = None
        backoff = 0.5
        while not self._stop.is_set():
            try:
                if client is None or client.is_closed:
                    client = await open_connection(self._options, on_change=self._on_change)
                    self._connected = True
                    self._bucket = None
                    backoff = 0.5
                js = client.jetstream(timeout=self._config.ack_timeout_s)
                if await until_stopped(self._stop, run_side_by_side(self._send(js), self._receive(js))):
                    break
            except Exception as error:  # the link must outlive any one failure: log it, back off, try again
                self.last_error = f"{type(error).__name__}: {error}"
                expected = isinstance(error, (TimeoutError, NatsError, OSError))
                logger.log(logging.WARNING if expected else logging.ERROR, "uplink of hall %s: %s; retrying in "
                           "%.1f s", self.hall_id, self.last_error, backoff, exc_info=not expected)
                await self._report_status()
                try:
                    await asyncio.wait_for(self._stop.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, 10.0)
        await close_quietly(client)  # nothing to drain: what was not acknowledged stays in the outbox
        self._connected = False
        await self._report_status()

    async def _on_change(self, connected: bool) -> None:
        self._connected = connected
        logger.info("uplink of hall %s %s", self.hall_id, "reconnected" if connected else "disconnected")
        await self._report_status()

    async def _send(self, js: JetStreamContext) -> None:
        assert self._stop is not None
        last_report = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_report > 2.0:
                await self._trim_and_report()
                last_report = time.monotonic()
            rows = await asyncio.to_thread(self._batch)
            if not rows:
                try:
                    await asyncio.wait_for(self._stop.wait(), self._idle_s)
                except TimeoutError:
                    pass
                continue
            results = await asyncio.gather(*(self._publish(js, row) for row in rows), return_exceptions=True)
            acked = [row.id for row, result in zip(rows, results, strict=True) if result is True]
            if acked:
                await asyncio.to_thread(self._remove, acked)
                self.sent += len(acked)
            failure = next((result for result in results if isinstance(result, BaseException)), None)
            if failure is not None:
                raise failure if isinstance(failure, (NatsError, OSError, TimeoutError)) else \
                    NatsError(f"publish failed: {failure!r}")

    async def _publish(self, js: JetStreamContext, row: OutboxRow) -> bool:
        envelope_files = wire.decode(row.payload.encode(), row.subject).files
        for ref in envelope_files:
            await self._put_file(js, ref)
        ack = await js.publish(row.subject, row.payload.encode(), headers={"Nats-Msg-Id": row.msg_id},
                               timeout=self._config.ack_timeout_s)
        if ack.stream != wire.UP_STREAM:
            return False
        for ref in envelope_files:  # later events of the incident name these files again: not sent twice
            if ref.sha256 is not None:
                self._delivered_files[(ref.path, ref.sha256)] = None
                while len(self._delivered_files) > DELIVERED_FILES_REMEMBERED:
                    self._delivered_files.popitem(last=False)
        return True

    async def _put_file(self, js: JetStreamContext, ref: wire.FileRef) -> None:
        if ref.sha256 is None:
            return  # the edge no longer had it: the centre records the evidence as missing
        if (ref.path, ref.sha256) in self._delivered_files:
            return  # an earlier message carrying it was acknowledged: the centre has it (or fetches it from there)
        try:
            path = resolve_evidence_path(self._data_dir, ref.path)
        except EvidencePathError:
            return
        if self._bucket is None:
            self._bucket = await js.object_store(wire.evidence_bucket(self.hall_id))
        try:
            info = await self._bucket.get_info(ref.path)
            if info.digest == sha256_digest(ref.sha256) and not info.deleted:
                return  # put before a crash or a lost acknowledgement
        except NotFoundError:
            pass
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            logger.warning("evidence %s is gone before it was sent; the centre marks it missing", ref.path)
            return
        await self._bucket.put(ref.path, data)
        self.files_sent += 1

    async def _receive(self, js: JetStreamContext) -> None:
        assert self._stop is not None
        if self._commands is None:
            await self._stop.wait()
            return
        subscription = None
        while subscription is None and not self._stop.is_set():
            try:
                subscription = await js.pull_subscribe_bind(durable=wire.command_consumer(self.hall_id),
                                                            stream=wire.COMMAND_STREAM)
            except NotFoundError:
                logger.warning("hall %s: no command consumer yet (has the centre started?); trying again", self.hall_id)
                try:
                    await asyncio.wait_for(self._stop.wait(), 5.0)
                except TimeoutError:
                    pass
        while subscription is not None and not self._stop.is_set():
            try:
                messages = await subscription.fetch(16, timeout=1.0)
            except TimeoutError:
                continue
            for message in messages:
                try:
                    envelope = wire.decode(message.data, message.subject, "cmd")
                    if envelope.kind == "head":
                        files = await self._head_files(js, envelope.body)
                        await asyncio.to_thread(self._commands.install_head, envelope.body, files)
                    else:
                        await asyncio.to_thread(self._commands.apply, envelope.kind, envelope.body)
                    self.commands_applied += 1
                except (wire.WireError, KeyError, ValueError) as error:
                    logger.error("hall %s: bad command %s dropped: %s", self.hall_id, message.subject, error)
                await message.ack()

    async def _head_files(self, js: JetStreamContext, body: dict) -> dict[str, bytes]:
        if self._bucket is None:
            self._bucket = await js.object_store(wire.evidence_bucket(self.hall_id))
        files = {}
        for name in body.get("files") or {}:
            try:
                result = await self._bucket.get(wire.head_object(str(body["behaviour"]), str(body["version"]), name))
            except NotFoundError:
                continue  # install_head refuses an incomplete head
            files[name] = result.data or b""
        return files

    # ---- database (on worker threads) ------------------------------------------------------------------------------

    def _batch(self) -> list[OutboxRow]:
        with self._database.read() as session:
            rows = next_batch(session, self._config.batch)
            session.expunge_all()
            return rows

    def _remove(self, ids: list[int]) -> None:
        with self._database.write() as session:
            remove_sent(session, ids)

    async def _trim_and_report(self) -> None:
        dropped = await asyncio.to_thread(self._trim)
        if dropped:
            logger.warning("hall %s: outbox full, dropped %s", self.hall_id, dropped)
            if self._dropped is not None:
                self._dropped(dropped)
        await self._report_status(full=bool(dropped))

    def _trim(self) -> dict[str, int]:
        with self._database.write() as session:
            return trim_outbox(session, self._config.outbox_max_messages)

    async def _report_status(self, full: bool = False) -> None:
        if self._report is None:
            return
        depth, oldest = await asyncio.to_thread(self.depth)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        self._report(LinkStatus("edge", self._connected, depth, max(age, 0.0),
                                full or depth >= self._config.outbox_max_messages, self.last_error))

    def depth(self):
        with self._database.read() as session:
            return outbox_depth(session)
