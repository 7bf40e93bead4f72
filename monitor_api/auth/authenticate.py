"""Authentication (who is calling) and the role/scope check of a policy. Called by PolicyGate in the thread pool.

Credentials, in order: `Authorization: Bearer` (an API key if it starts with cwk_, else a bearer token), `X-API-Key`,
on WebSockets `?token=` (browsers cannot set headers there), then the session cookie. A cookie session must send
`X-CSRF-Token` on unsafe methods; on a WebSocket it must come from the same origin. Bearer tokens and keys need no
CSRF token: a browser never attaches them by itself.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import WebSocketException
from sqlalchemy import select
from starlette.requests import HTTPConnection

from monitor_api.auth.keys import hash_api_key, looks_like_api_key
from monitor_api.auth.policies import Policy
from monitor_api.auth.principal import Principal
from monitor_api.auth.tokens import password_fingerprint
from monitor_api.problems import ApiProblem
from monitor_api.services import Services, client_ip, get_services
from monitor_api.storage import find_active_api_key, visible_hall_ids
from monitor_api.storage.models import AuditLogRow, UserRow
from monitor_api.storage.types import utcnow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
SESSION_REVOKE = "session.revoke"
_KEY_TOUCH_INTERVAL = timedelta(minutes=10)  # last_used_at is advisory: no write on every request
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="counterwatch"'}


class _Denied(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _is_websocket(connection: HTTPConnection) -> bool:
    return connection.scope["type"] == "websocket"


def session_revoked(session, session_id: str) -> bool:
    return session.scalar(select(AuditLogRow.id).where(
        AuditLogRow.object_type == "session", AuditLogRow.object_id == session_id,
        AuditLogRow.action == SESSION_REVOKE).limit(1)) is not None


def _token_principal(services: Services, token: str, kind: str, via: str, ip: str) -> Principal:
    now = utcnow()
    claims = services.tokens.verify(token, kind, now)
    if claims is None:
        raise _Denied(401, "invalid or expired session; log in again")
    with services.database.read() as session:
        user = session.get(UserRow, claims.user_id)
        if (user is None or not user.active
                or password_fingerprint(user.password_hash) != claims.password_fingerprint
                or session_revoked(session, claims.session_id)):
            raise _Denied(401, "invalid or expired session; log in again")
        halls = visible_hall_ids(session, user)
        staff = (user.staff_hall_id, user.staff_id) if user.staff_hall_id and user.staff_id else None
        return Principal("user", user.id, user.username, via,  # type: ignore[arg-type]
                         role=user.role, halls=halls, staff=staff, session=claims, client_ip=ip)


def _key_principal(services: Services, key: str, ip: str) -> Principal:
    now = utcnow()
    if len(key) > 200:
        raise _Denied(401, "API key invalid, expired or revoked")
    key_hash = hash_api_key(key)
    with services.database.read() as session:
        row = find_active_api_key(session, key_hash, now)
        if row is None:
            raise _Denied(401, "API key invalid, expired or revoked")
        principal = Principal("api_key", row.id, row.name, "api_key", scopes=frozenset(row.scopes),
                              halls=None if row.hall_id is None else frozenset({row.hall_id}), client_ip=ip)
        stale = row.last_used_at is None or row.last_used_at < now - _KEY_TOUCH_INTERVAL
    if stale:
        from monitor_api.storage.models import ApiKeyRow

        with services.database.write() as session:
            fresh = session.get(ApiKeyRow, principal.id)
            if fresh is not None:
                fresh.last_used_at = now
    return principal


def _same_origin(connection: HTTPConnection) -> bool:
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc.lower() == connection.headers.get("host", "").lower()


def authenticate(connection: HTTPConnection, services: Services) -> Principal | None:
    ip = client_ip(connection)
    authorization = connection.headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise _Denied(401, "use Authorization: Bearer <token or API key>")
        if looks_like_api_key(value):
            return _key_principal(services, value, ip)
        return _token_principal(services, value, "bearer", "bearer", ip)
    api_key = connection.headers.get("x-api-key")
    if api_key:
        return _key_principal(services, api_key.strip(), ip)
    if _is_websocket(connection):
        token = connection.query_params.get("token")
        if token:
            if looks_like_api_key(token):
                return _key_principal(services, token, ip)
            return _token_principal(services, token, "bearer", "bearer", ip)
    cookie = connection.cookies.get(services.settings.cookie_name)
    if not cookie:
        return None
    principal = _token_principal(services, cookie, "cookie", "cookie", ip)
    assert principal.session is not None
    if _is_websocket(connection):
        if not _same_origin(connection):
            raise _Denied(403, "cross-origin WebSocket with a session cookie refused")
    elif connection.scope.get("method", "GET") not in SAFE_METHODS:
        if not services.tokens.check_csrf(principal.session.session_id, connection.headers.get(CSRF_HEADER)):
            raise _Denied(403, "missing or wrong X-CSRF-Token header (required with a session cookie)")
    return principal


def _check(policy: Policy, principal: Principal | None) -> Principal:
    if principal is None:
        raise _Denied(401, "authentication required")
    if principal.kind == "user":
        assert principal.role is not None
        if not policy.admits_user(principal.role, principal.staff is not None):
            raise _Denied(403, f"role {principal.role.value} may not do this")
    elif not policy.admits_key(principal.scopes):
        raise _Denied(403, f"API key lacks a scope for this: needs one of {sorted(policy.scopes) or 'a user login'}")
    return principal


def authorize(connection: HTTPConnection, policy: Policy) -> Principal | None:
    if policy.public:
        return None
    services = get_services(connection)
    try:
        return _check(policy, authenticate(connection, services))
    except _Denied as denied:
        if _is_websocket(connection):
            raise WebSocketException(code=1008, reason=denied.detail[:120]) from None
        raise ApiProblem(denied.status, denied.detail, headers=_CHALLENGE if denied.status == 401 else None) from None


def identify(connection: HTTPConnection, policy: Policy) -> Principal | None:
    """For a public route that shows more to some callers: the caller when their credentials pass `policy`; None
    without credentials or when they do not pass it. Invalid or expired credentials are refused (401) as on every
    other route, so a misconfigured scraper hears about it instead of silently getting the short answer."""
    services = get_services(connection)
    try:
        principal = authenticate(connection, services)
    except _Denied as denied:
        raise ApiProblem(denied.status, denied.detail, headers=_CHALLENGE if denied.status == 401 else None) from None
    if principal is None:
        return None
    try:
        return _check(policy, principal)
    except _Denied:
        return None
