"""Argon2id password hashing (argon2-cffi) and generated passwords."""
from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
_ALPHABET = string.ascii_letters + string.digits


class PasswordPolicyError(ValueError):
    """A password that may not be set; the message says why."""


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise PasswordPolicyError("password must have at most 1024 characters")


def generate_password(length: int = 20) -> str:
    """A random password from letters and digits (about 119 bits at 20 characters)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Passwords:
    """Hash and verify with one set of Argon2id parameters; hashes made with other parameters still verify (the
    PHC string carries them) and are flagged for rehash on the next successful login."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 64 * 1024, parallelism: int = 2) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Verified when the username is unknown, so that a miss costs as much time as a wrong password.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        check_password_policy(password)
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False
