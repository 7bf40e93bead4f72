"""Login for people: a session cookie for the dashboard (HttpOnly, SameSite=Lax, with a CSRF token), and bearer
tokens for scripts. See monitor_api/auth/tokens.py for how tokens are signed and revoked."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from monitor_api.accounts import user_public
from monitor_api.auth.authenticate import SESSION_REVOKE
from monitor_api.auth.login import password_login
from monitor_api.auth.policy import Anyone, AnyUser
from monitor_api.problems import problem_responses
from monitor_api.schemas.accounts import LoginCreate, MePublic, SessionPublic, TokenPublic
from monitor_api.services import ClientIp, ServicesDep
from monitor_api.storage import record_audit
from monitor_api.storage.models import UserRow
from monitor_api.storage.types import utcnow

router = APIRouter(prefix="/auth", tags=["auth"])

_LOGIN_ERRORS = problem_responses(400, notes={401: "invalid username or password (always this one message)",
                                               429: "too many attempts; see Retry-After"})


@router.post("/login", response_model=SessionPublic, responses=_LOGIN_ERRORS,
             summary="Log in; sets the session cookie and returns the CSRF token")
def login(body: LoginCreate, response: Response, _: Anyone, services: ServicesDep, ip: ClientIp) -> SessionPublic:
    user = password_login(services, body.username, body.password, ip)
    settings = services.settings
    expires_at = utcnow() + timedelta(seconds=settings.session_ttl_s)
    token, claims = services.tokens.issue("cookie", user.id, expires_at, user.password_hash)
    response.set_cookie(settings.cookie_name, token, max_age=settings.session_ttl_s, httponly=True, samesite="lax",
                        secure=settings.cookie_secure, path="/")
    with services.database.read() as session:
        public = user_public(session, user)
    return SessionPublic(csrf_token=services.tokens.csrf_token(claims.session_id), expires_at=claims.expires_at,
                         user=public)


@router.post("/token", response_model=TokenPublic, responses=_LOGIN_ERRORS,
             summary="A bearer token for scripts (Authorization: Bearer ...)")
def token(body: LoginCreate, _: Anyone, services: ServicesDep, ip: ClientIp) -> TokenPublic:
    user = password_login(services, body.username, body.password, ip)
    expires_at = utcnow() + timedelta(seconds=services.settings.bearer_ttl_s)
    value, claims = services.tokens.issue("bearer", user.id, expires_at, user.password_hash)
    return TokenPublic(access_token=value, expires_at=claims.expires_at)


@router.post("/logout", status_code=204, summary="End this session or bearer token everywhere")
def logout(principal: AnyUser, response: Response, services: ServicesDep) -> Response:
    assert principal.session is not None
    with services.database.write() as session:
        record_audit(session, principal.actor, SESSION_REVOKE, "session", principal.session.session_id,
                     details={"kind": principal.session.kind}, client_ip=principal.client_ip)
    response.status_code = 204
    response.delete_cookie(services.settings.cookie_name, path="/", httponly=True, samesite="lax",
                           secure=services.settings.cookie_secure)
    return response


@router.get("/me", response_model=MePublic, summary="Who am I (and the CSRF token of this session)")
def me(principal: AnyUser, services: ServicesDep) -> MePublic:
    assert principal.session is not None
    with services.database.read() as session:
        user = session.get(UserRow, principal.id)
        assert user is not None
        public = user_public(session, user)
    csrf = services.tokens.csrf_token(principal.session.session_id) if principal.via == "cookie" else None
    return MePublic(user=public, csrf_token=csrf, expires_at=principal.session.expires_at)
