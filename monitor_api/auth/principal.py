"""Who is calling: a person (user) or an integration (API key), with what they may see."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor_api.auth.tokens import TokenClaims
from monitor_api.problems import ApiProblem
from monitor_api.storage import Actor
from monitor_api.storage.models import Role

# The one answer for "not yours" and, for hall-scoped callers, also for "does not exist": a supervisor of hall A
# must not learn which incident ids exist in hall B (see monitor_api/README or the API section of the README).
NOT_IN_SCOPE = "not within your halls"


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "api_key"]
    id: int
    name: str
    via: Literal["cookie", "bearer", "api_key"]
    role: Role | None = None  # users only
    scopes: frozenset[str] = frozenset()  # API keys only
    halls: frozenset[str] | None = None  # visible halls; None = every hall
    staff: tuple[str, str] | None = None  # (hall_id, staff_id): a user who is also a staff member
    session: TokenClaims | None = None  # the token a user authenticated with
    client_ip: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor.user(self.id) if self.kind == "user" else Actor.api_key(self.id)

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def all_halls(self) -> bool:
        return self.halls is None

    def sees_hall(self, hall_id: str) -> bool:
        return self.halls is None or hall_id in self.halls

    def is_staff_member(self, hall_id: str, staff_id: str | None) -> bool:
        return self.staff is not None and staff_id is not None and self.staff == (hall_id, staff_id)

    def require_hall(self, hall_id: str) -> None:
        if not self.sees_hall(hall_id):
            raise ApiProblem(403, NOT_IN_SCOPE)

    def missing(self, what: str) -> ApiProblem:
        """The error for an object that was not found: 404 only for callers who see every hall."""
        return ApiProblem(404, f"{what} not found") if self.all_halls else ApiProblem(403, NOT_IN_SCOPE)
