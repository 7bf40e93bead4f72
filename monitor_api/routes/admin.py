"""Administration (admins only): users and integration API keys. Admins manage access; they do not review."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from monitor_api.accounts import (
    AccountError,
    add_api_key,
    add_user,
    check_staff_link,
    check_supervisor_halls,
    find_key,
    find_user,
    set_password,
    update_halls,
    update_staff_link,
    user_public,
)
from monitor_api.auth.policy import Administrator
from monitor_api.problems import ApiProblem, FieldError, problem_responses
from monitor_api.schemas.accounts import (
    ApiKeyCreate,
    ApiKeyCreatedPublic,
    ApiKeyPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from monitor_api.services import ServicesDep
from monitor_api.storage import record_audit, revoke_api_key
from monitor_api.storage.models import ApiKeyRow, UserRow
from monitor_api.storage.types import utcnow

router = APIRouter(tags=["admin"])

ObjectId = Annotated[int, Path(ge=1, le=2**62)]


@contextmanager
def _account_errors() -> Iterator[None]:
    try:
        yield
    except AccountError as error:
        status = 409 if "exists" in str(error) else 422
        raise ApiProblem(status, str(error), errors=[FieldError(field=f"body.{error.field}", message=str(error))]) \
            from None


def _staff_link(staff_hall_id: str | None, staff_id: str | None) -> tuple[str, str] | None:
    """(hall id, staff id) of a staff link in a request, None when it names none; 422 when it names half of one."""
    if (staff_hall_id is None) != (staff_id is None):
        raise ApiProblem(422, "staff_hall_id and staff_id go together",
                         errors=[FieldError(field="body.staff_id", message="give both or neither")])
    return (staff_hall_id, staff_id) if staff_hall_id and staff_id else None


@router.get("/users", response_model=list[UserPublic], summary="All users")
def list_users(principal: Administrator, services: ServicesDep) -> list[UserPublic]:
    with services.database.read() as session:
        return [user_public(session, user) for user in session.scalars(select(UserRow).order_by(UserRow.id))]


@router.post("/users", response_model=UserPublic, status_code=201, summary="Create a user",
             responses=problem_responses(400, 409, notes={
                 409: "The username exists", 422: "Invalid request; also staff_hall_id without staff_id (or the "
                 "reverse), a role without the halls or staff link it needs, an unknown hall"}))
def create_user(body: UserCreate, principal: Administrator, services: ServicesDep) -> UserPublic:
    staff = _staff_link(body.staff_hall_id, body.staff_id)
    with services.database.write() as session, _account_errors():
        user = add_user(session, services.passwords, principal.actor, username=body.username,
                        password=body.password, role=body.role, display_name=body.display_name, halls=body.halls,
                        staff=staff)
        return user_public(session, user)


@router.patch("/users/{user_id}", response_model=UserPublic, summary="Change a user",
              responses=problem_responses(400, 409, notes={
                  409: "Admins cannot deactivate or demote themselves", 422: "Invalid request; also staff_hall_id "
                  "without staff_id (or the reverse), unlink_staff with a staff link, a role without the halls or "
                  "staff link it needs, an unknown hall or staff member"}))
def update_user(user_id: ObjectId, body: UserUpdate, principal: Administrator, services: ServicesDep) -> UserPublic:
    staff = _staff_link(body.staff_hall_id, body.staff_id)
    if staff is not None and body.unlink_staff:
        raise ApiProblem(422, "unlink_staff and a staff link exclude each other",
                         errors=[FieldError(field="body.unlink_staff", message="give a staff link or unlink_staff")])
    relink = staff is not None or body.unlink_staff
    with services.database.write() as session, _account_errors():
        user = find_user(session, user_id)
        if user is None:
            raise ApiProblem(404, f"user {user_id} not found")
        if user.id == principal.id and (body.active is False or (body.role is not None and body.role != user.role)):
            raise ApiProblem(409, "admins cannot deactivate or demote themselves")
        changes: dict[str, object] = {}
        if body.display_name is not None:
            user.display_name = changes["display_name"] = body.display_name
        new_role = body.role is not None and body.role != user.role
        if new_role or relink:
            linked = staff is not None if relink else user.staff_id is not None
            check_staff_link(body.role if body.role is not None else user.role, linked)
        if new_role:
            assert body.role is not None
            if body.halls is None:
                update_halls(session, principal.actor, user, [])
            user.role = body.role
            changes["role"] = body.role.value
        if body.halls is not None:
            update_halls(session, principal.actor, user, body.halls)
        if new_role or body.halls is not None:
            check_supervisor_halls(session, user)
        if relink:
            update_staff_link(session, principal.actor, user, staff)
        if body.active is not None:
            user.active = changes["active"] = body.active
        if body.unlock:
            user.failed_logins, user.locked_until = 0, None
            changes["unlock"] = True
        if body.password is not None:
            set_password(session, services.passwords, principal.actor, user, body.password)
        if changes:
            record_audit(session, principal.actor, "user.update", "user", user.id, details=changes,
                         client_ip=principal.client_ip)
        session.flush()
        return user_public(session, user)


@router.get("/keys", response_model=list[ApiKeyPublic], summary="All API keys (never the keys themselves)")
def list_keys(principal: Administrator, services: ServicesDep) -> list[ApiKeyPublic]:
    with services.database.read() as session:
        return [ApiKeyPublic.model_validate(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]


@router.post("/keys", response_model=ApiKeyCreatedPublic, status_code=201, summary="Create an API key (shown once)",
             responses=problem_responses(400, notes={422: "Invalid request; also an unknown hall"}))
def create_key(body: ApiKeyCreate, principal: Administrator, services: ServicesDep) -> ApiKeyCreatedPublic:
    with services.database.write() as session, _account_errors():
        return add_api_key(session, principal.actor, name=body.name, scopes=list(body.scopes), hall_id=body.hall_id,
                           expires_days=body.expires_days, now=utcnow(), created_by=principal.id)


@router.post("/keys/{key_id}/revoke", response_model=ApiKeyPublic, summary="Revoke an API key")
def revoke_key(key_id: ObjectId, principal: Administrator, services: ServicesDep) -> ApiKeyPublic:
    with services.database.write() as session:
        if find_key(session, key_id) is None:
            raise ApiProblem(404, f"API key {key_id} not found")
        row = revoke_api_key(session, key_id, utcnow())
        record_audit(session, principal.actor, "api_key.revoke", "api_key", key_id, hall_id=row.hall_id,
                     client_ip=principal.client_ip)
        return ApiKeyPublic.model_validate(row)
