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
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from counterwatch.config.uplink import UplinkConfig
from counterwatch.county import wire
from counterwatch.county.edge import EdgeCommands
from counterwatch.county.link_thread import LinkThread
from counterwatch.county.nats_link import connect_options, edge_inbox, run_side_by_side
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


class Uplink(LinkThread):
    def __init__(self, config: UplinkConfig, base_dir: Path, hall_id: str, database: Database, data_dir: Path, *,
                 commands: EdgeCommands | None = None, report: LinkReporter | None = None,
                 dropped: DroppedReporter | None = None, idle_s: float = 0.2) -> None:
        super().__init__(connect_options(config, base_dir, name=f"counterwatch-edge-{hall_id}",
                                         inbox_prefix=edge_inbox(hall_id)),
                         name=f"uplink of hall {hall_id}", ack_timeout_s=config.ack_timeout_s)
        self._config = config
        self.hall_id = wire.check_hall(hall_id)
        self._database = database
        self._data_dir = data_dir
        self._commands = commands
        self._report = report
        self._dropped = dropped
        self._idle_s = idle_s
        self._bucket: ObjectStore | None = None
        self.sent = 0  # messages acknowledged by the server
        self.files_sent = 0
        # (path, sha256) of files whose message the server acknowledged, oldest first.
        self._delivered_files: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.commands_applied = 0

    # ---- one connection -----------------------------------------------------------------------------------------

    async def _connected_anew(self) -> None:
        self._bucket = None

    async def _session(self, js: JetStreamContext) -> None:
        await run_side_by_side(self._send(js), self._receive(js))

    async def _report_link(self) -> None:
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
                await self._pause(self._idle_s)
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
                await self._pause(5.0)
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
