"""`/v3/users`: users, self-service password change, and the groups a user belongs to."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.identity import errors as id_errors
from nimbus.identity import views
from nimbus.identity.deps import Deps
from nimbus.identity.schemas_resources import (
    PasswordChangeRequest,
    QueryStr,
    UserCreateRequest,
    UserUpdateRequest,
)
from nimbus.identity.service import groups, users

router = APIRouter(prefix="/v3")

_CREATE_ARGS = ("name", "domain_id", "password", "enabled", "default_project_id", "options")
_EXPIRY_OPS = ("lt", "lte", "gt", "gte", "eq", "neq")


def user_filters(domain_id: str | None, name: str | None, enabled: str | None,
                 password_expires_at: str | None) -> users.UserFilters:
    """The list filters; `password_expires_at` is `{op}:{timestamp}` (op defaults to eq)."""
    expires: tuple[users.ExpiryOp, dt.datetime] | None = None
    if password_expires_at is not None:
        op, sep, stamp = password_expires_at.partition(":")
        if not sep or op not in _EXPIRY_OPS:
            op, stamp = "eq", password_expires_at
        try:
            when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError as exc:
            raise id_errors.ValidationError(
                detail="Invalid password_expires_at: use {operator}:YYYY-MM-DDTHH:mm:ssZ.") from exc
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        expires = (cast(users.ExpiryOp, op), when)
    return users.UserFilters(domain_id=domain_id, name=name, enabled=views.query_bool(enabled),
                             password_expires=expires)


@router.post("/users", status_code=201)
async def create_user(request: Request, body: UserCreateRequest, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    fields = body.user.model_dump(exclude_unset=True)
    u = body.user
    ref = await users.create_user(
        deps, ctx, name=u.name, domain_id=u.domain_id, password=u.password, enabled=u.enabled,
        default_project_id=u.default_project_id, options=u.options,
        extra={k: v for k, v in fields.items() if k not in _CREATE_ARGS})
    return {"user": views.member(request, "users", ref)}


@router.api_route("/users", methods=["GET", "HEAD"])
async def list_users(request: Request, deps: Deps, ctx: Ctx, domain_id: QueryStr = None,
                     name: QueryStr = None, enabled: QueryStr = None,
                     password_expires_at: QueryStr = None) -> dict[str, Any]:
    filters = user_filters(domain_id, name, enabled, password_expires_at)
    refs = await users.list_users(deps, ctx, filters)
    return views.members(request, "users", "users", refs)


@router.api_route("/users/{user_id}", methods=["GET", "HEAD"])
async def show_user(request: Request, user_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    ref = await users.get_user(deps, ctx, user_id)
    return {"user": views.member(request, "users", ref)}


@router.patch("/users/{user_id}")
async def update_user(request: Request, user_id: str, body: UserUpdateRequest, deps: Deps,
                      ctx: Ctx) -> dict[str, Any]:
    ref = await users.update_user(deps, ctx, user_id, body.user.changes())
    return {"user": views.member(request, "users", ref)}


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: str, deps: Deps, ctx: Ctx) -> Response:
    await users.delete_user(deps, ctx, user_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204)
async def change_password(user_id: str, body: PasswordChangeRequest, deps: Deps,
                          ctx: Ctx) -> Response:
    await users.change_password(deps, ctx, user_id,
                                original_password=body.user.original_password,
                                password=body.user.password)
    return Response(status_code=204)


@router.api_route("/users/{user_id}/groups", methods=["GET", "HEAD"])
async def list_user_groups(request: Request, user_id: str, deps: Deps,
                           ctx: Ctx) -> dict[str, Any]:
    refs = await groups.list_groups_for_user(deps, ctx, user_id)
    return views.members(request, "groups", "groups", refs)
