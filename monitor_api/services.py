"""The objects one API instance works with, built once by create_app and reached through dependencies."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from monitor_api.auth.passwords import Passwords
from monitor_api.auth.throttle import LoginThrottle
from monitor_api.auth.tokens import TokenSigner
from monitor_api.live.hub import EventHub
from monitor_api.live.state import LiveState
from monitor_api.settings import ApiSettings
from monitor_api.storage import Database, EvidenceStore

if TYPE_CHECKING:
    from counterwatch.rules.schedule import HallCalendar
    from monitor_api.scoring.config import ScoringConfig
    from monitor_api.scoring.webhook import WebhookWorker

# (hall_id, window_id, paused): what the runner does when the queue system pauses or resumes a window.
QueueControl = Callable[[str, str, bool], None]


@dataclass
class Services:
    settings: ApiSettings
    database: Database
    passwords: Passwords
    tokens: TokenSigner
    throttle: LoginThrottle
    live: LiveState
    hub: EventHub
    evidence: EvidenceStore
    queue_control: QueueControl | None = None
    calendars: dict[str, HallCalendar] = field(default_factory=dict)  # by hall id
    scoring: ScoringConfig | None = None  # None: the defaults
    webhook: WebhookWorker | None = None  # when a webhook URL is configured


def get_services(connection: HTTPConnection) -> Services:
    return connection.app.state.services


def get_database(connection: HTTPConnection) -> Database:
    return get_services(connection).database


def client_ip(connection: HTTPConnection) -> str:
    if get_services(connection).settings.trust_forwarded_for:
        forwarded = connection.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:45]
    return connection.client.host if connection.client else "unknown"


ServicesDep = Annotated[Services, Depends(get_services)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ClientIp = Annotated[str, Depends(client_ip)]
