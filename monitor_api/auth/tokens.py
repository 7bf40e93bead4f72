"""Session cookies and bearer tokens: signed with the session secret (HMAC-SHA256), revocable server-side.

A token is `v1.<kind>.<user id>.<expires unix>.<session id>.<password fingerprint>.<mac>`. The server keeps no session
table: the signature proves the token was issued here; the user row is read on every request (so a deactivated user
or a changed role takes effect at once); the password fingerprint (16 hex of SHA-256 of the stored Argon2 hash) makes
every token of a user invalid when the password changes; logout writes `session.revoke` for the session id to the
audit log, which every request checks (an indexed lookup), so a logged-out token is dead on every node and across
restarts. The CSRF token of a cookie session is an HMAC of its session id: nothing to store either.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

KINDS = ("cookie", "bearer")


@dataclass(frozen=True)
class TokenClaims:
    kind: str
    user_id: int
    expires_at: datetime
    session_id: str
    password_fingerprint: str


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


class TokenSigner:
    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must have at least 32 characters")
        self._key = hashlib.sha256(b"counterwatch-token-v1:" + secret.encode("utf-8")).digest()
        self._csrf_key = hashlib.sha256(b"counterwatch-csrf-v1:" + secret.encode("utf-8")).digest()

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(self, kind: str, user_id: int, expires_at: datetime,
              password_hash: str | None) -> tuple[str, TokenClaims]:
        if kind not in KINDS:
            raise ValueError(f"token kind must be one of {KINDS}")
        claims = TokenClaims(kind, user_id, expires_at.astimezone(UTC), secrets.token_hex(12),
                             password_fingerprint(password_hash))
        payload = (f"v1.{kind}.{user_id}.{int(claims.expires_at.timestamp())}.{claims.session_id}."
                   f"{claims.password_fingerprint}")
        return f"{payload}.{self._mac(payload)}", claims

    def verify(self, token: str, kind: str, now: datetime) -> TokenClaims | None:
        """The claims of a well-formed, correctly signed, unexpired token of this kind; else None."""
        if len(token) > 512 or not token.isascii():
            return None
        parts = token.split(".")
        if len(parts) != 7 or parts[0] != "v1" or parts[1] != kind:
            return None
        payload, mac = ".".join(parts[:6]), parts[6]
        if not hmac.compare_digest(self._mac(payload), mac):
            return None
        try:
            user_id, expires = int(parts[2]), datetime.fromtimestamp(int(parts[3]), UTC)
        except (ValueError, OverflowError, OSError):
            return None
        if expires <= now:
            return None
        return TokenClaims(kind, user_id, expires, parts[4], parts[5])

    def csrf_token(self, session_id: str) -> str:
        digest = hmac.new(self._csrf_key, session_id.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def check_csrf(self, session_id: str, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token(session_id), presented or "")
