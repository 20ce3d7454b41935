"""`/v3/users/{user_id}/application_credentials[/{application_credential_id}]`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from nimbus.core.http import Ctx
from nimbus.identity.deps import Deps
from nimbus.identity.service import app_creds
from nimbus.identity.views import collection, reject_nul, v3_url

router = APIRouter(prefix="/v3", dependencies=[Depends(reject_nul)])

Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S")]


class RoleRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, min_length=1, max_length=64)
    name: Name | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RoleRef:
        if (self.id is None) == (self.name is None):
            raise ValueError("a role is given by its id or by its name")
        return self


class AccessRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, min_length=1, max_length=64)
    path: str | None = Field(default=None, max_length=225, pattern=r"^/")
    method: Literal["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"] | None = None
    service: str | None = Field(default=None, min_length=1, max_length=64)


class AppCredCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    description: str | None = Field(default=None, max_length=65535)
    secret: str | None = Field(default=None, max_length=4096)
    expires_at: dt.datetime | None = None
    roles: list[RoleRef] | None = None
    unrestricted: StrictBool | None = None
    access_rules: list[AccessRule] | None = None
    # Accepted by Keystone's schema and ignored: the id is generated, the scope is the token's.
    id: str | None = None
    system: str | None = None


class AppCredCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    application_credential: AppCredCreate


def _iso(when: dt.datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") if when is not None else None


def app_cred_view(request: Request, cred: app_creds.AppCred) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": cred.id, "name": cred.name, "description": cred.description,
        "user_id": cred.user_id, "project_id": cred.project_id,
        "expires_at": _iso(cred.expires_at), "unrestricted": cred.unrestricted,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id} for r in cred.roles],
        "access_rules": cred.access_rules,
        "links": {"self": v3_url(
            request, f"users/{cred.user_id}/application_credentials/{cred.id}")}}
    if cred.secret is not None:
        view["secret"] = cred.secret
    return view


@router.post("/users/{user_id}/application_credentials", status_code=201)
async def create_app_cred(request: Request, user_id: str, body: AppCredCreateBody, deps: Deps,
                          ctx: Ctx) -> dict[str, Any]:
    spec = body.application_credential
    cred = await app_creds.create_app_cred(
        deps, ctx, user_id, name=spec.name, description=spec.description, secret=spec.secret,
        expires_at=spec.expires_at,
        role_refs=[r.model_dump(exclude_none=True) for r in spec.roles] if spec.roles else None,
        unrestricted=bool(spec.unrestricted),
        access_rules=[r.model_dump(exclude_none=True) for r in spec.access_rules or []])
    return {"application_credential": app_cred_view(request, cred)}


@router.api_route("/users/{user_id}/application_credentials", methods=["GET", "HEAD"])
async def list_app_creds(request: Request, user_id: str, deps: Deps, ctx: Ctx,
                         name: str | None = None) -> dict[str, Any]:
    found = await app_creds.list_app_creds(deps, ctx, user_id, name=name)
    return collection(request, "application_credentials",
                      [app_cred_view(request, c) for c in found])


@router.api_route("/users/{user_id}/application_credentials/{app_cred_id}", methods=["GET", "HEAD"])
async def show_app_cred(request: Request, user_id: str, app_cred_id: str, deps: Deps,
                        ctx: Ctx) -> dict[str, Any]:
    cred = await app_creds.get_app_cred(deps, ctx, user_id, app_cred_id)
    return {"application_credential": app_cred_view(request, cred)}


@router.delete("/users/{user_id}/application_credentials/{app_cred_id}", status_code=204)
async def delete_app_cred(user_id: str, app_cred_id: str, deps: Deps, ctx: Ctx) -> Response:
    await app_creds.delete_app_cred(deps, ctx, user_id, app_cred_id)
    return Response(status_code=204)
