"""`/v3/credentials[/{credential_id}]`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from nimbus.core.http import Ctx
from nimbus.identity import errors
from nimbus.identity.api.roles import extra_attributes
from nimbus.identity.deps import Deps
from nimbus.identity.service import credentials
from nimbus.identity.views import collection, reject_nul, self_links

router = APIRouter(prefix="/v3", dependencies=[Depends(reject_nul)])

Blob = Annotated[str, Field(max_length=65535)]
CredType = Annotated[str, Field(min_length=1, max_length=255)]
Id64 = Annotated[str, Field(min_length=1, max_length=64)]


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    blob: Blob
    type: CredType
    user_id: Id64
    project_id: Id64 | None = None


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")
    blob: Blob | None = None
    type: CredType | None = None
    user_id: Id64 | None = None
    project_id: Id64 | None = None


class CredentialCreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credential: CredentialCreate


class CredentialUpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credential: CredentialUpdate


def credential_view(request: Request, cred: credentials.Credential) -> dict[str, Any]:
    return {**cred.extra, "id": cred.id, "user_id": cred.user_id, "project_id": cred.project_id,
            "type": cred.type, "blob": cred.blob,
            "links": self_links(request, f"credentials/{cred.id}")}


@router.post("/credentials", status_code=201)
async def create_credential(request: Request, body: CredentialCreateBody, deps: Deps,
                            ctx: Ctx) -> dict[str, Any]:
    spec = body.credential
    cred = await credentials.create_credential(
        deps, ctx, user_id=spec.user_id, project_id=spec.project_id, type=spec.type,
        blob=spec.blob, extra=extra_attributes(spec))
    return {"credential": credential_view(request, cred)}


@router.api_route("/credentials", methods=["GET", "HEAD"])
async def list_credentials(request: Request, deps: Deps, ctx: Ctx, user_id: str | None = None,
                           type: str | None = None) -> dict[str, Any]:
    found = await credentials.list_credentials(deps, ctx, user_id=user_id, type=type)
    return collection(request, "credentials", [credential_view(request, c) for c in found])


@router.api_route("/credentials/{credential_id}", methods=["GET", "HEAD"])
async def show_credential(request: Request, credential_id: str, deps: Deps,
                          ctx: Ctx) -> dict[str, Any]:
    cred = await credentials.get_credential(deps, ctx, credential_id)
    return {"credential": credential_view(request, cred)}


@router.patch("/credentials/{credential_id}")
async def update_credential(request: Request, credential_id: str, body: CredentialUpdateBody,
                            deps: Deps, ctx: Ctx) -> dict[str, Any]:
    spec = body.credential
    extra = extra_attributes(spec, entity_id=credential_id)
    changes = spec.model_dump(exclude_unset=True, exclude=set(spec.model_extra or {}))
    for name in ("blob", "type", "user_id"):
        if name in changes and changes[name] is None:
            raise errors.ValidationError(detail=f"Invalid input for field/attribute {name}: "
                                                "None is not allowed.")
    if not changes and not extra:
        raise errors.ValidationError(detail="An update needs at least one attribute.")
    cred = await credentials.update_credential(deps, ctx, credential_id, changes=changes,
                                               extra=extra)
    return {"credential": credential_view(request, cred)}


@router.delete("/credentials/{credential_id}", status_code=204)
async def delete_credential(credential_id: str, deps: Deps, ctx: Ctx) -> Response:
    await credentials.delete_credential(deps, ctx, credential_id)
    return Response(status_code=204)
