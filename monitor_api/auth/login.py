"""Password login: rate limits, lockout after repeated failures, one generic error for every kind of failure.

The same 401 answer ("invalid username or password") is given for an unknown user, a wrong password, a locked or
an inactive account, and an unknown user costs one Argon2 verification too: the response tells an attacker nothing
about which usernames exist. Only the rate limits answer differently (429 with Retry-After).
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import update

from monitor_api.problems import ApiProblem
from monitor_api.services import Services
from monitor_api.storage import Actor, record_audit, user_by_username
from monitor_api.storage.models import UserRow
from monitor_api.storage.types import utcnow

logger = logging.getLogger("counterwatch.api")

GENERIC_FAILURE = "invalid username or password"


def _fail() -> ApiProblem:
    return ApiProblem(401, GENERIC_FAILURE)


def password_login(services: Services, username: str, password: str, ip: str) -> UserRow:
    """The user on success; raises ApiProblem 401 or 429. Writes the outcome to the audit log."""
    wait = services.throttle.check(ip, username)
    if wait is not None:
        raise ApiProblem(429, "too many login attempts; try again later",
                         headers={"Retry-After": str(max(1, math.ceil(wait)))})
    now = utcnow()
    with services.database.read() as session:
        user = user_by_username(session, username)
    # Verify outside any transaction: Argon2 takes tens of milliseconds and must not hold the SQLite write lock.
    correct = services.passwords.verify(user.password_hash if user else None, password)
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    if user is None or not user.active or locked or not correct:
        _record_failure(services, user, username, ip, now, counted=user is not None and not locked and not correct)
        raise _fail()
    with services.database.write() as session:
        fresh = session.get(UserRow, user.id)
        assert fresh is not None
        fresh.failed_logins, fresh.locked_until, fresh.last_login_at = 0, None, now
        if fresh.password_hash and services.passwords.needs_rehash(fresh.password_hash):
            fresh.password_hash = services.passwords.hash(password)
        record_audit(session, Actor.user(fresh.id), "auth.login", "user", fresh.id, at=now, client_ip=ip)
    return fresh


def _record_failure(services: Services, user: UserRow | None, username: str, ip: str, now: datetime, *,
                    counted: bool) -> None:
    settings = services.settings
    with services.database.write() as session:
        details: dict[str, object] = {"username": username[:64]}
        if user is not None and counted:
            # An UPDATE ... + 1, not read-modify-write: concurrent failures must all count.
            session.execute(update(UserRow).where(UserRow.id == user.id)
                            .values(failed_logins=UserRow.failed_logins + 1))
            fresh = session.get(UserRow, user.id, populate_existing=True)
            assert fresh is not None
            if fresh.failed_logins >= settings.lockout_failures:
                fresh.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                fresh.failed_logins = 0
                details["locked_until"] = fresh.locked_until
                logger.warning("account %s locked until %s after %d failed logins", fresh.username,
                               fresh.locked_until.isoformat(), settings.lockout_failures)
                record_audit(session, Actor.system("auth"), "user.locked", "user", fresh.id, details=details,
                             at=now, client_ip=ip)
        record_audit(session, Actor.system("auth"), "auth.login_failed", "user",
                     user.id if user is not None else "unknown", details=details, at=now, client_ip=ip)
