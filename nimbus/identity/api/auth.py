"""`/v3/auth/*`: issue, validate, check and revoke tokens; the caller's catalog and scopes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request, Response

from nimbus.core import errors
from nimbus.core.http import Ctx, OrjsonResponse, get_context
from nimbus.identity import errors as id_errors
from nimbus.identity.deps import Deps, get_deps
from nimbus.identity.schemas_auth import AuthRequest
from nimbus.identity.service import scopes, tokens

router = APIRouter(prefix="/v3/auth")


@router.post("/tokens", status_code=201)
async def issue_token(body: AuthRequest, deps: Deps, nocatalog: str | None = None) -> Response:
    token, validated = await tokens.authenticate(deps, body)
    content = await tokens.token_body(deps, validated, include_catalog=nocatalog is None)
    return OrjsonResponse(content, status_code=201, headers={"X-Subject-Token": token})


async def _subject(deps: Deps, ctx: Ctx, subject: str | None) -> tokens.ValidatedToken:
    if not subject:
        raise id_errors.ValidationError(detail="X-Subject-Token is required.")
    try:
        validated = await tokens.validate(deps, subject)
    except errors.Unauthorized as exc:
        raise id_errors.TokenNotFound() from exc
    # Anyone may look at their own token; services and admins at any.
    if validated.user["id"] != ctx.user_id:
        deps.policy.authorize("identity:validate_token", ctx, {})
    return validated


async def validate_token(request: Request) -> Response:
    """GET /v3/auth/tokens. Every API request in a multi-node cloud pays for this call, so it
    is a plain Starlette route: FastAPI's dependency solving would triple its cost."""
    deps = await get_deps(request)
    ctx = await get_context(request)
    subject = request.headers.get("x-subject-token")
    validated = await _subject(deps, ctx, subject)
    include_catalog = "nocatalog" not in request.query_params
    body = await tokens.token_body_json(deps, validated, subject or "",
                                        include_catalog=include_catalog)
    return Response(body, media_type="application/json", headers={"X-Subject-Token": subject or ""})


@router.delete("/tokens", status_code=204)
async def revoke_token(deps: Deps, ctx: Ctx,
                       x_subject_token: str | None = Header(default=None)) -> Response:
    validated = await _subject(deps, ctx, x_subject_token)
    await tokens.revoke(deps, validated)
    return Response(status_code=204)


@router.get("/catalog")
async def auth_catalog(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    validated = await tokens.validate(deps, ctx.auth_token or "")
    if validated.payload.scope == "unscoped":
        raise errors.Forbidden("A catalog needs a scoped token.")
    return {"catalog": await tokens.catalog_for(deps, validated),
            "links": {"self": str(request.url), "previous": None, "next": None}}


@router.get("/projects")
async def auth_projects(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    projects = await scopes.projects_for_user(deps, ctx.user_id or "")
    return {"projects": [scopes.project_view(request, p) for p in projects],
            "links": {"self": str(request.url), "previous": None, "next": None}}


@router.get("/domains")
async def auth_domains(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    domains = await scopes.domains_for_user(deps, ctx.user_id or "")
    return {"domains": [scopes.domain_view(request, d) for d in domains],
            "links": {"self": str(request.url), "previous": None, "next": None}}


@router.get("/system")
async def auth_system(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    has_system = await scopes.has_system_roles(deps, ctx.user_id or "")
    return {"system": [{"all": True}] if has_system else [],
            "links": {"self": str(request.url), "previous": None, "next": None}}
