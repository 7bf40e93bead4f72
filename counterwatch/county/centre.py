"""The county centre's side of the link: JetStream -> the county database, and commands back to the edges.

Consumer: the durable pull consumer `centre` on CW_UP. Each message is checked (its document's hall must be its
subject's, and the hall one this centre accepts: anything else is refused, counted and audited), its files are
fetched from the hall's bucket and checked against their sha256, then it is stored idempotently (incidents by
ingest_event, pauses, samples and observed time by their keys) and only then acknowledged. A centre killed at any
point gets the message again and stores nothing twice; the temporary of a file it was writing when killed is removed
when it starts again.

Commands: a queue pause or resume received by the centre's API is stored in `county_commands` and published to the
hall's command subject; it is published again until the edge acknowledges it. Review decisions are pushed to the
incident's edge once per change (`county_review_pushes`).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import SQLAlchemyError

from counterwatch.config.county import LoadedCounty
from counterwatch.county import wire
from counterwatch.county.link_thread import LinkThread
from counterwatch.county.nats_link import CENTRE_CONSUMER, connect_options, ensure_layout, run_side_by_side
from counterwatch.incidents.media import remove_partials
from counterwatch.runtime.runner import STATS_INTERVAL_S
from monitor_api.ingest import DatabaseSink
from monitor_api.live.state import LinkStatus
from monitor_api.services import Services
from monitor_api.storage import Actor, EvidencePathError, record_audit, record_pause_period, resolve_evidence_path
from monitor_api.storage.evidence import sha256_of_file
from monitor_api.storage.incidents import recover_open_incidents
from monitor_api.storage.labelling import record_label_sample
from monitor_api.storage.models import CountyCommandRow, CountyReviewPushRow, IncidentRow, ReviewState
from monitor_api.storage.observed import ObservedTimeRecorder
from monitor_api.storage.pauses import apply_queue_change
from monitor_api.storage.types import utcnow
from monitor_api.window_status import window_live_message

logger = logging.getLogger("counterwatch.county")

RESEND_COMMANDS_S = 30.0
RETRY_STORE_S = 5.0  # a message the database could not take is delivered again after this


class Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class Centre(LinkThread):
    def __init__(self, county: LoadedCounty, services: Services, data_dir: Path, *, batch: int = 128) -> None:
        super().__init__(connect_options(county.config.nats, county.base_dir, name="counterwatch-centre",
                                         inbox_prefix="_INBOX_centre"),
                         name="centre", ack_timeout_s=county.config.nats.ack_timeout_s)
        self._county = county
        self._services = services
        self._data_dir = data_dir
        self._batch = batch
        self._halls = frozenset(county.hall_ids)
        self._sink = DatabaseSink(services.database, evidence_store=services.evidence, on_stored=self._stored)
        tolerance = max(services.settings.window_status_stale_s, 3 * STATS_INTERVAL_S)
        self._observed = {hall: ObservedTimeRecorder(services.database, hall, tolerance_s=tolerance)
                          for hall in self._halls}
        self._js: JetStreamContext | None = None
        self._layout_ready = False
        self.stored = 0
        self.rejected = 0
        self.files = 0

    # ---- thread ---------------------------------------------------------------------------------------------------

    def start(self) -> Self:
        removed = remove_partials(self._data_dir)
        if removed:
            logger.warning("centre: removed %d half-written file(s) a crash left in %s", removed, self._data_dir)
        return super().start()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        for recorder in self._observed.values():
            try:
                recorder.close()
            except Exception:
                logger.exception("could not store the last observed time")

    async def _session(self, js: JetStreamContext) -> None:
        if not self._layout_ready:
            layout = self._county.config.jetstream
            await ensure_layout(js, sorted(self._halls), replicas=layout.replicas,
                                duplicate_window_s=layout.duplicate_window_s, files_ttl_s=layout.files_ttl_s)
            self._layout_ready = True
            logger.info("centre: JetStream layout ready for halls %s", ", ".join(sorted(self._halls)))
        self._js = js
        await run_side_by_side(self._consume(js), self._push_reviews(js), self._resend_commands(js))

    async def _report_link(self) -> None:
        self._report()

    def _report(self) -> None:
        self._services.live.set_link(LinkStatus("centre", self._connected, detail=self.last_error))

    # ---- consuming ------------------------------------------------------------------------------------------------

    async def _consume(self, js: JetStreamContext) -> None:
        assert self._stop is not None
        subscription = await js.pull_subscribe_bind(durable=CENTRE_CONSUMER, stream=wire.UP_STREAM)
        while not self._stop.is_set():
            try:
                messages = await subscription.fetch(self._batch, timeout=1.0)
            except TimeoutError:
                continue
            for message in messages:
                await self._handle(js, message)

    async def _handle(self, js: JetStreamContext, message: Msg) -> None:
        try:
            hall, kind = wire.subject_parts(message.subject, "up")
        except wire.WireError as error:
            await self._reject(message, None, "bad_subject", str(error))
            return
        if hall not in self._halls:
            await self._reject(message, None, "unknown_hall", f"hall {hall!r} is not accepted by this centre")
            return
        try:
            envelope = wire.decode(message.data, message.subject)
            fetched = {}
            for ref in envelope.files:
                await message.in_progress()  # a slow link to the bucket must not let the server redeliver
                fetched[ref.path] = await self._fetch(js, hall, ref)
            await asyncio.to_thread(self._store, envelope, fetched)
        except wire.WireError as error:
            await self._reject(message, hall, "hall_mismatch" if "hall" in str(error) else "bad_document", str(error))
            return
        except Rejected as error:
            await self._reject(message, hall, error.reason, error.detail)
            return
        except (KeyError, TypeError, ValueError) as error:  # a field missing or of the wrong form
            await self._reject(message, hall, "bad_document", f"{type(error).__name__}: {error}")
            return
        except SQLAlchemyError as error:  # the database is down or busy: the message comes again later
            logger.error("centre: %s not stored (%s); delivered again in %.0f s", message.subject, error,
                         RETRY_STORE_S)
            await message.nak(delay=RETRY_STORE_S)
            return
        await message.ack()
        self.stored += 1
        self._services.live.metrics.county_messages.labels(kind, "stored").inc()
        for path, ok in fetched.items():
            if ok:
                await self._forget_object(js, hall, path)

    async def _reject(self, message: Msg, hall: str | None, reason: str, detail: str) -> None:
        self.rejected += 1
        subject_hall = message.subject.split(".")[2] if message.subject.count(".") >= 2 else "?"
        self._services.live.metrics.county_rejected.labels(subject_hall, reason).inc()
        logger.warning("centre: refused %s: %s (%s)", message.subject, reason, detail)

        def audit() -> None:
            with self._services.database.write() as session:
                record_audit(session, Actor.system("county"), "county.message_refused", "message", message.subject,
                             hall_id=hall, details={"reason": reason, "detail": detail[:500]})

        await asyncio.to_thread(audit)
        await message.term()  # never delivered again

    async def _fetch(self, js: JetStreamContext, hall: str, ref: wire.FileRef) -> bool:
        """Bring one file from the hall's bucket into the data directory; False when it is missing or its sha256
        differs (the incident is then stored with its evidence marked missing)."""
        if ref.sha256 is None:
            return False
        try:
            target = resolve_evidence_path(self._data_dir, ref.path)
        except EvidencePathError as error:
            raise Rejected("bad_path", str(error)) from None
        if target.exists() and await asyncio.to_thread(sha256_of_file, target) == ref.sha256:
            return True  # stored before a crash or a redelivery
        try:
            bucket = await js.object_store(wire.evidence_bucket(hall))
            result = await bucket.get(ref.path)
        except NotFoundError:
            logger.warning("centre: file %s of hall %s is not in its bucket", ref.path, hall)
            return False
        data = result.data or b""
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            self._services.live.metrics.county_rejected.labels(hall, "file_checksum").inc()
            logger.error("centre: file %s of hall %s does not match its sha256; not kept", ref.path, hall)
            return False
        await asyncio.to_thread(_write_atomically, target, data)
        self.files += 1
        return True

    async def _forget_object(self, js: JetStreamContext, hall: str, path: str) -> None:
        try:
            bucket = await js.object_store(wire.evidence_bucket(hall))
            await bucket.delete(path)
        except (NatsError, NotFoundError, TimeoutError):
            logger.debug("could not delete %s from the bucket of %s (it expires)", path, hall, exc_info=True)

    def _store(self, envelope: wire.Envelope, fetched: dict[str, bool]) -> None:
        hall = envelope.hall_id
        services = self._services
        match envelope.kind:
            case "incident":
                event = wire.incident_of(envelope.body)
                if event.hall_id != hall:
                    raise Rejected("hall_mismatch", f"incident of hall {event.hall_id!r} on hall {hall!r}'s subject")
                self._sink.deliver(event)
            case "pause":
                with services.database.write() as session:
                    record_pause_period(session, hall, wire.pause_of(envelope.body))
            case "queue":
                body = envelope.body
                window_id, paused = str(body["window_id"]), bool(body["paused"])
                with services.database.write() as session:
                    apply_queue_change(session, hall, window_id, paused, datetime.fromisoformat(str(body["at"])))
                services.live.set_queue_paused(hall, window_id, paused)
            case "status":
                live = services.live.update_window(hall, wire.status_of(envelope.body))
                services.hub.publish_threadsafe(window_live_message(hall, live))
            case "health":
                health = wire.health_of(envelope.body)
                status = services.live.update_camera(health, hall)
                services.hub.publish_threadsafe({"type": "camera.state", "hall_id": hall,
                                                 "camera_id": status.camera_id, "state": status.state,
                                                 "reason": status.reason})
                self._observed[hall].camera_state(health.camera_id, health.state, health.last_frame_wall_time)
            case "stats":
                stats = wire.stats_of(envelope.body)
                services.live.record_stats(stats, hall)
                self._observed[hall].stats(stats.camera_id, stats.frames, stats.last_frame_wall_time)
            case "sample":
                sample = wire.sample_of(envelope.body)
                if fetched.get(sample.path):
                    with services.database.write() as session:
                        record_label_sample(session, hall, sample)
            case "recovered":
                with services.database.write() as session:
                    recover_open_incidents(session, datetime.fromisoformat(str(envelope.body["at"])), hall_id=hall,
                                           ids=[str(i) for i in envelope.body["incident_ids"]])
            case "ack":
                with services.database.write() as session:
                    command = session.get(CountyCommandRow, str(envelope.body["command_id"]))
                    if command is not None and command.hall_id == hall and command.acked_at is None:
                        command.acked_at = utcnow()
                        command.result = str(envelope.body.get("result", ""))[:200]
            case _:
                raise Rejected("bad_document", f"unknown kind {envelope.kind!r}")

    def _stored(self, _event: Any, message: dict[str, Any]) -> None:
        self._services.hub.publish_threadsafe(message)

    # ---- commands -------------------------------------------------------------------------------------------------

    def queue_control(self, hall_id: str, window_id: str, paused: bool) -> None:
        """The API's queue control at the centre: record the command and send it to the hall's edge."""
        if hall_id not in self._halls:
            raise ValueError(f"hall {hall_id!r} has no edge here")
        command_id = uuid.uuid4().hex
        body = {"command_id": command_id, "window_id": window_id, "paused": paused, "at": utcnow().isoformat()}
        with self._services.database.write() as session:
            session.add(CountyCommandRow(id=command_id, hall_id=hall_id, kind="queue", payload=body,
                                         created_at=utcnow()))
        if self._loop is not None and self._js is not None:
            asyncio.run_coroutine_threadsafe(self._publish_command(self._js, hall_id, "queue", command_id, body),
                                             self._loop)

    async def _publish_command(self, js: JetStreamContext, hall: str, kind: str, msg_id: str,
                               body: dict[str, Any]) -> bool:
        try:
            await js.publish(wire.command_subject(hall, kind), wire.Envelope(kind, hall, body).encode(),
                             headers={"Nats-Msg-Id": msg_id}, timeout=self._county.config.nats.ack_timeout_s)
            return True
        except (NatsError, TimeoutError) as error:
            logger.warning("centre: command %s to hall %s not sent yet: %s", msg_id, hall, error)
            return False

    async def _resend_commands(self, js: JetStreamContext) -> None:
        assert self._stop is not None
        while not await self._pause(RESEND_COMMANDS_S):
            for command in await asyncio.to_thread(self._unacked_commands):
                await self._publish_command(js, command.hall_id, command.kind, command.id, dict(command.payload))

    def _unacked_commands(self) -> list[CountyCommandRow]:
        cutoff = utcnow()
        with self._services.database.read() as session:
            rows = list(session.scalars(select(CountyCommandRow).where(CountyCommandRow.acked_at.is_(None))
                                        .order_by(CountyCommandRow.created_at).limit(500)))
            session.expunge_all()
        return [row for row in rows if (cutoff - row.created_at).total_seconds() >= RESEND_COMMANDS_S]

    async def _push_reviews(self, js: JetStreamContext, every_s: float = 2.0) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            for incident_id, hall, state in await asyncio.to_thread(self._reviews_to_push):
                body = {"incident_id": incident_id, "review_state": state}
                if await self._publish_command(js, hall, "review", f"review:{incident_id}:{state}", body):
                    await asyncio.to_thread(self._pushed, incident_id, state)
            await self._pause(every_s)

    def _reviews_to_push(self) -> list[tuple[str, str, str]]:
        with self._services.database.read() as session:
            rows = session.execute(
                select(IncidentRow.id, IncidentRow.hall_id, IncidentRow.review_state)
                .outerjoin(CountyReviewPushRow, CountyReviewPushRow.incident_id == IncidentRow.id)
                .where(IncidentRow.review_state != ReviewState.PENDING, IncidentRow.hall_id.in_(sorted(self._halls)),
                       or_(CountyReviewPushRow.incident_id.is_(None),
                           and_(CountyReviewPushRow.review_state != IncidentRow.review_state)))
                .limit(500)).all()
        return [(incident_id, hall, state.value) for incident_id, hall, state in rows]

    def _pushed(self, incident_id: str, state: str) -> None:
        with self._services.database.write() as session:
            row = session.get(CountyReviewPushRow, incident_id)
            if row is None:
                session.add(CountyReviewPushRow(incident_id=incident_id, review_state=state, pushed_at=utcnow()))
            else:
                row.review_state, row.pushed_at = state, utcnow()


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, target)
