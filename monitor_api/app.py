"""The application factory: `create_app(settings)` builds the FastAPI app of one API instance.

Everything is under /api/v1 (with the OpenAPI document at /api/v1/openapi.json and docs at /api/v1/docs), except the
operations endpoints (/healthz, /readyz, /metrics) and the dashboard's pages (mounted without a prefix). Every route
declares its policy (monitor_api/auth/policy.py); the access-matrix test reads them from `app.routes`.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily
from starlette.routing import Route

from monitor_api.auth.passwords import Passwords
from monitor_api.auth.policy import PUBLIC, declare
from monitor_api.auth.throttle import LoginThrottle
from monitor_api.auth.tokens import TokenSigner
from monitor_api.live.hub import EventHub
from monitor_api.live.state import LiveState
from monitor_api.middleware import BodySizeLimit, SecurityHeaders
from monitor_api.problems import install_problem_handlers, problem_responses
from monitor_api.reports.monthly import MonthlyReportScheduler
from monitor_api.retention import RetentionScheduler
from monitor_api.routes import api_router
from monitor_api.routes.ops import incident_counts, router as ops_router
from monitor_api.routes.reports import router as reports_router
from monitor_api.services import QueueControl, Services
from monitor_api.settings import API_PREFIX, ApiSettings
from monitor_api.storage import Database, EvidenceStore, migrate, sync_hall

logger = logging.getLogger("counterwatch.api")

# Every route may answer these; routes add their own (400 for a body, 409, 410, ...) with problem_responses.
_PROBLEM_RESPONSES = problem_responses(401, 403, 404, 413, 422, 429)


class _IncidentCollector:
    """`counterwatch_incidents{hall,type,review_state}` read from the database at scrape time, so the figure is
    right in `serve` mode too and across restarts."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("counterwatch_incidents", "Stored incidents.",
                                   labels=["hall", "type", "review_state"])
        try:
            for hall, kind, state, count in incident_counts(self._services):
                family.add_metric([hall, kind, state], count)
        except Exception:  # a scrape must not fail because the database is briefly busy
            logger.warning("metrics: incident counts unavailable", exc_info=True)
        yield family


def build_services(settings: ApiSettings, *, database: Database | None = None, live: LiveState | None = None,
                   hub: EventHub | None = None, queue_control: QueueControl | None = None) -> Services:
    from counterwatch.rules.schedule import HallCalendar

    database = database or Database(settings.database_url)
    camera_halls = {camera.id: config.hall.id for config in settings.halls for camera in config.cameras}
    evidence = (EvidenceStore(settings.data_dir) if settings.evidence_min_free_bytes is None
                else EvidenceStore(settings.data_dir, settings.evidence_min_free_bytes))
    from monitor_api.scoring.config import load_scoring_config
    from monitor_api.scoring.webhook import WebhookWorker

    scoring = load_scoring_config(settings.scoring_config)
    return Services(
        scoring=scoring, webhook=WebhookWorker.from_settings(settings, database, scoring),
        settings=settings, database=database,
        passwords=Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                            parallelism=settings.argon2_parallelism),
        tokens=TokenSigner(settings.session_secret.get_secret_value()),
        throttle=LoginThrottle(settings.login_ip_limit, settings.login_user_limit, settings.login_window_s),
        live=live or LiveState(camera_halls), hub=hub or EventHub(settings.subscriber_queue), evidence=evidence,
        queue_control=queue_control,
        calendars={config.hall.id: HallCalendar(config) for config in settings.halls})


def prepare_database(services: Services) -> None:
    """Migrate to head and copy the hall configs in (idempotent; `counterwatch run` has done it already)."""
    migrate(services.database)
    with services.database.write() as session:
        for config in services.settings.halls:
            sync_hall(session, config)


def create_app(settings: ApiSettings, *, services: Services | None = None, prepare: bool = True) -> FastAPI:
    """The API for `settings`. Pass `services` to share the database, live state, hub and queue control with the
    runner (`counterwatch run`); `prepare` migrates and syncs the hall configs first."""
    services = services or build_services(settings)
    if prepare:
        prepare_database(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.hub.bind(asyncio.get_running_loop())
        logger.info("API ready: %s, halls %s", services.database, [c.hall.id for c in settings.halls])
        monthly = MonthlyReportScheduler(services.database, settings.data_dir, services.calendars,
                                         scoring=services.scoring)  # --scoring-config
        monthly.start()
        retention = RetentionScheduler(services.database, settings.data_dir, settings.halls)  # hourly purge
        retention.start()
        if services.webhook is not None:
            services.webhook.start()  # the appraisal webhook's delivery worker
        try:
            yield
        finally:
            if services.webhook is not None:
                services.webhook.stop()
            retention.stop()
            monthly.stop()
            services.hub.bind(None)

    app = FastAPI(title="counterwatch supervisory API", version="1", lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None, responses=_PROBLEM_RESPONSES)
    app.state.services = services
    install_problem_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(ops_router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(reports_router, prefix=API_PREFIX)
    from monitor_api.dashboard.site import router as dashboard_router

    app.include_router(dashboard_router)
    for route in app.routes:
        if isinstance(route, Route) and route.path in (app.openapi_url, app.docs_url):
            declare(route, PUBLIC)
    services.live.metrics.registry.register(_IncidentCollector(services))
    return app
