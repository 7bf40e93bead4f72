"""Integration API keys: `cwk_<8 id chars>_<secret>`, stored as a SHA-256 hash, scoped, expiring, revocable.

The key is 32 random bytes: a fast hash is enough against guessing (unlike a password, it has no dictionary), and it
allows an indexed lookup by hash; Argon2 would cost a hash per request and cannot be looked up.
"""
from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "cwk_"
SCOPES = ("queue:pause", "appraisal:read", "incidents:read", "metrics:read")
SCOPE_DESCRIPTIONS = {
    "queue:pause": "pause/resume windows from the queue-calling system (叫号系统)",
    "appraisal:read": "read confirmed-incident summaries for the appraisal system (考核)",
    "incidents:read": "read incident metadata (no evidence)",
    "metrics:read": "scrape /metrics and read the /readyz detail (Prometheus, monitoring)",
}


def generate_api_key() -> tuple[str, str, str]:
    """(key, prefix, key_hash). Show `key` once; store `prefix` and `key_hash`."""
    ident = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{ident}_{secrets.token_urlsafe(32)}"
    return key, f"{KEY_PREFIX}{ident}", hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_api_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX)
