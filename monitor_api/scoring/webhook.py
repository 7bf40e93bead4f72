"""The signed appraisal webhook: a delivery log in the database, filled when derived scores change or a period
closes, drained by a background thread so that no API request ever waits on the receiver.

Each logical delivery is one `webhook_deliveries` row with a fixed body and Idempotency-Key; attempts re-sign the same
body with a fresh timestamp: X-Counterwatch-Signature = "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
5xx, 408, 429, timeouts and connection errors are retried with exponential backoff; other answers end the delivery.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.scoring.config import ScoringConfig
from monitor_api.scoring.engine import Period, add_months
from monitor_api.scoring.record import content_hash, period_json
from monitor_api.storage import Database
from monitor_api.storage.models import ScoreSnapshotRow, WebhookDeliveryRow
from monitor_api.storage.types import utcnow

logger = logging.getLogger("counterwatch.webhook")
SECRET_ENV = "COUNTERWATCH_WEBHOOK_SECRET"
_MAX_BACKOFF_S = 3600.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (the tests use it too): constant-time comparison of the signature header."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def affected_periods(at: datetime, tz: str, months_after: int, now: datetime) -> list[Period]:
    """The month and year of `at`, then the following months an escalation window reaches (not past now)."""
    month = Period.month_of(at, tz)
    periods = [month, Period.year_of(at, tz)]
    current = Period.month_of(now, tz).label
    for offset in range(1, months_after + 1):
        later = Period.month_of(add_months(month.start_local, offset), tz)
        if later.label > current:
            break
        periods.append(later)
        year = Period.year_of(later.start, tz)
        if year not in periods:
            periods.append(year)
    return periods


class WebhookWorker:
    def __init__(self, database: Database, url: str, secret: str, config: ScoringConfig, timezones: dict[str, str],
                 *, timeout_s: float = 10.0, max_attempts: int = 8, backoff_s: float = 30.0, poll_s: float = 2.0,
                 period_close: bool = True) -> None:
        if not secret:
            raise ValueError(f"the appraisal webhook needs a secret ({SECRET_ENV})")
        self.database, self.url, self._secret, self.config, self.timezones = database, url, secret, config, timezones
        self.timeout_s, self.max_attempts, self.backoff_s, self.poll_s = timeout_s, max_attempts, backoff_s, poll_s
        self.period_close = period_close
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Any, database: Database, config: ScoringConfig) -> WebhookWorker | None:
        if settings.appraisal_webhook_url is None:
            return None
        secret = (settings.appraisal_webhook_secret.get_secret_value() if settings.appraisal_webhook_secret
                  else os.environ.get(SECRET_ENV, ""))
        return cls(database, settings.appraisal_webhook_url, secret, config,
                   {hall.hall.id: hall.calendar.timezone for hall in settings.halls},
                   timeout_s=settings.webhook_timeout_s, max_attempts=settings.webhook_max_attempts,
                   backoff_s=settings.webhook_backoff_s, poll_s=settings.webhook_poll_s,
                   period_close=settings.webhook_period_close)

    # --- enqueueing (called after a decision has committed) ---------------------------------------------------------

    @staticmethod
    def _key(event: str, hall_id: str, key_material: str) -> str:
        return hashlib.sha256(f"{event}|{hall_id}|{key_material}".encode()).hexdigest()[:40]

    @staticmethod
    def _exists(session: Session, key: str) -> bool:
        return session.scalars(select(WebhookDeliveryRow.id)
                               .where(WebhookDeliveryRow.idempotency_key == key)).first() is not None

    def _enqueue(self, session: Session, event: str, hall_id: str, key_material: str,
                 periods: list[dict[str, Any]], trigger: dict[str, Any] | None, now: datetime) -> str | None:
        key = self._key(event, hall_id, key_material)
        if self._exists(session, key):
            return None  # this logical delivery exists already
        body = {"event": event, "delivery_id": key, "occurred_at": now.isoformat(), "hall_id": hall_id,
                "trigger": trigger, "periods": periods}
        session.add(WebhookDeliveryRow(idempotency_key=key, event=event, hall_id=hall_id, next_attempt_at=now,
                                       body=json.dumps(body, ensure_ascii=False, sort_keys=True)))
        for document in periods:
            snapshot = session.get(ScoreSnapshotRow, (hall_id, document["period"]))
            digest = content_hash(document)
            if snapshot is None:
                session.add(ScoreSnapshotRow(hall_id=hall_id, period=document["period"], content_hash=digest,
                                             updated_at=now))
            else:
                snapshot.content_hash, snapshot.updated_at = digest, now
        return key

    def scores_may_have_changed(self, hall_id: str, at: datetime, trigger: dict[str, Any]) -> str | None:
        """Recompute the periods a decision about something at `at` can touch; push those that changed."""
        tz, now = self.timezones.get(hall_id, "Asia/Shanghai"), utcnow()
        changed: list[dict[str, Any]] = []
        with self.database.write() as session:
            for index, period in enumerate(affected_periods(at, tz, self.config.flags.escalation_window_months,
                                                            now)):
                document = period_json(session, hall_id, period, self.config)
                snapshot = session.get(ScoreSnapshotRow, (hall_id, period.label))
                if snapshot is not None and snapshot.content_hash == content_hash(document):
                    continue
                # Later months are pushed only once they were pushed before or now carry something: a decision in
                # March must not flood the receiver with twelve untouched months.
                if index >= 2 and snapshot is None and not any(s["deductions"] for s in document["staff"]):
                    continue
                changed.append(document)
            if not changed:
                return None
            material = json.dumps([trigger, [content_hash(d) for d in changed]], sort_keys=True)
            key = self._enqueue(session, "scores.changed", hall_id, material, changed, trigger, now)
        self._wake.set()
        return key

    def enqueue_closed_periods(self, now: datetime) -> list[str]:
        """The previous month (and the previous year in January) of each hall, once.

        Called on every poll: halls whose delivery exists are skipped on a read, before any score is computed, so a
        quiet poll neither recomputes a month nor takes the (SQLite: whole-database) write lock."""
        months = [(hall_id, Period.month_of(add_months(Period.month_of(now, tz).start_local, -1), tz))
                  for hall_id, tz in sorted(self.timezones.items())]
        with self.database.read() as session:
            due = [(hall_id, month) for hall_id, month in months
                   if not self._exists(session, self._key("period.closed", hall_id, month.label))]
        if not due:
            return []
        keys = []
        with self.database.write() as session:
            for hall_id, month in due:
                tz = month.tz
                periods = [month] + ([Period(month.label[:4], tz)] if month.label.endswith("-12") else [])
                documents = [period_json(session, hall_id, period, self.config) for period in periods]
                key = self._enqueue(session, "period.closed", hall_id, month.label, documents, None, now)
                if key:
                    keys.append(key)
        return keys

    # --- delivering ---------------------------------------------------------------------------------------------

    def _post(self, key: str, body: bytes) -> tuple[int | None, str | None]:
        timestamp = str(int(utcnow().timestamp()))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Counterwatch-Timestamp": timestamp,
            "X-Counterwatch-Signature": signature(self._secret, timestamp, body), "Idempotency-Key": key,
            "User-Agent": "counterwatch-webhook/1"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, f"HTTP {error.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            return None, f"{type(error).__name__}: {error}"

    def process_due(self, now: datetime | None = None) -> int:
        """Attempt every due delivery once; returns the number of attempts. HTTP runs outside any transaction."""
        now = now or utcnow()
        with self.database.read() as session:
            due = [(row.id, row.idempotency_key, row.body) for row in session.scalars(
                select(WebhookDeliveryRow).where(WebhookDeliveryRow.status == "pending",
                                                 WebhookDeliveryRow.next_attempt_at <= now)
                .order_by(WebhookDeliveryRow.id).limit(50))]
        for row_id, key, body in due:
            status, error = self._post(key, body.encode())
            with self.database.write() as session:
                row = session.get(WebhookDeliveryRow, row_id)
                assert row is not None
                row.attempts += 1
                row.last_status_code, row.last_error = status, error
                finished = utcnow()
                if status is not None and 200 <= status < 300:
                    row.status, row.delivered_at = "delivered", finished
                elif (status is None or status >= 500 or status in (408, 429)) and row.attempts < self.max_attempts:
                    delay = min(_MAX_BACKOFF_S, self.backoff_s * 2 ** (row.attempts - 1))
                    row.next_attempt_at = finished + timedelta(seconds=delay)
                else:
                    row.status = "failed"
                    logger.warning("webhook delivery %s failed after %d attempts: %s", key, row.attempts, error)
        return len(due)

    # --- the thread -------------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.period_close:
                    self.enqueue_closed_periods(utcnow())
                self.process_due()
            except Exception:  # the worker must outlive a busy database or a bad receiver
                logger.warning("webhook worker pass failed", exc_info=True)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="counterwatch-webhook", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
