"""Copy a hall's config (hall, windows, cameras, staff, roster) into the database, on every start-up."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor_api.storage.models import CameraRow, CameraWindowRow, HallRow, RosterEntryRow, StaffRow, WindowRow

if TYPE_CHECKING:  # the config package imports shapely; keep `import monitor_api.storage` light
    from counterwatch.config import HallConfig

logger = logging.getLogger("counterwatch.api.storage")

_Row = TypeVar("_Row", WindowRow, CameraRow, StaffRow)


@dataclass(frozen=True)
class HallSyncReport:
    hall_id: str
    windows: int
    cameras: int
    staff: int
    roster_entries: int
    deactivated: tuple[str, ...]  # "window:w07", "camera:cam3", "staff:s009": gone from the config, kept as rows


def redact_source(source: str | int) -> str:
    """A camera source without credentials: rtsp://user:pass@host/x -> rtsp://host/x; a device index -> usb:N."""
    if isinstance(source, int):
        return f"usb:{source}"
    if "://" not in source:
        return source
    parts = urlsplit(source)
    if parts.username is None and parts.password is None:
        return source
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _upsert(session: Session, model: type[_Row], hall_id: str, wanted: dict[str, dict[str, object]],
            deactivated: list[str], label: str) -> None:
    existing = {row.id: row for row in session.scalars(select(model).where(model.hall_id == hall_id))}
    for row_id, values in wanted.items():
        row = existing.get(row_id)
        if row is None:
            session.add(model(hall_id=hall_id, id=row_id, active=True, configured=True, **values))
            continue
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
        row.active, row.configured = True, True
    for row_id, row in existing.items():
        if row_id not in wanted and row.active:
            row.active = False
            deactivated.append(f"{label}:{row_id}")


def sync_hall(session: Session, config: HallConfig) -> HallSyncReport:
    """Upsert the hall, its windows, cameras, staff and roster from the config. Idempotent.

    Windows, cameras and staff that left the config are marked inactive, not deleted: past incidents refer to them.
    The roster has no identity of its own and is replaced as a whole. Placeholders made by ingest for ids the
    config did not have yet become configured rows here.
    """
    hall_id = config.hall.id
    hall = session.get(HallRow, hall_id)
    if hall is None:
        hall = HallRow(id=hall_id)
        session.add(hall)
    hall.name, hall.timezone, hall.configured = config.hall.name, config.calendar.timezone, True
    session.flush()  # the hall row must exist before rows that refer to it

    deactivated: list[str] = []
    _upsert(session, WindowRow, hall_id, {
        window.id: {"name": window.name, "department": window.department, "schedule": window.schedule,
                    "pause_marker_id": window.pause_marker_id} for window in config.windows}, deactivated, "window")
    _upsert(session, CameraRow, hall_id, {
        camera.id: {"source": redact_source(camera.source)} for camera in config.cameras}, deactivated, "camera")
    _upsert(session, StaffRow, hall_id, {
        member.id: {"name": member.name, "department": member.department} for member in config.staff},
        deactivated, "staff")
    session.flush()

    session.execute(delete(CameraWindowRow).where(CameraWindowRow.hall_id == hall_id))
    views = {(camera.id, view.window) for camera in config.cameras for view in camera.views}
    session.add_all(CameraWindowRow(hall_id=hall_id, camera_id=camera_id, window_id=window_id)
                    for camera_id, window_id in sorted(views))
    session.execute(delete(RosterEntryRow).where(RosterEntryRow.hall_id == hall_id))
    session.add_all(RosterEntryRow(
        hall_id=hall_id, window_id=entry.window, staff_id=entry.staff, position=position, days=",".join(entry.days),
        on_date=entry.date, valid_from=entry.valid_from, valid_until=entry.valid_until,
        start_time=entry.hours.start if entry.hours else None, end_time=entry.hours.end if entry.hours else None)
        for position, entry in enumerate(config.roster))
    session.flush()
    if deactivated:
        logger.info("hall %s: no longer in the config, marked inactive: %s", hall_id, ", ".join(deactivated))
    return HallSyncReport(hall_id, len(config.windows), len(config.cameras), len(config.staff), len(config.roster),
                          tuple(deactivated))
