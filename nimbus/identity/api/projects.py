"""`/v3/projects`: projects, their tags, and `/v3/users/{user_id}/projects`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from nimbus.core.http import Ctx
from nimbus.identity import views
from nimbus.identity.deps import Deps
from nimbus.identity.schemas_resources import (
    ProjectCreateRequest,
    ProjectUpdateRequest,
    QueryStr,
    TagsRequest,
    filter_query,
)
from nimbus.identity.service import projects

router = APIRouter(prefix="/v3")


def _tags(value: str | None) -> tuple[str, ...]:
    return tuple(t for t in value.split(",") if t) if value else ()


@router.post("/projects", status_code=201)
async def create_project(request: Request, body: ProjectCreateRequest, deps: Deps,
                         ctx: Ctx) -> dict[str, Any]:
    p = body.project
    extra = p.extra()
    if p.options is not None:
        extra["options"] = p.options
    ref = await projects.create_project(
        deps, ctx, name=p.name, domain_id=p.domain_id, parent_id=p.parent_id,
        description=p.description, enabled=p.enabled, is_domain=p.is_domain, tags=p.tags,
        extra=extra)
    return {"project": views.member(request, "projects", ref)}


@router.api_route("/projects", methods=["GET", "HEAD"])
async def list_projects(request: Request, deps: Deps, ctx: Ctx, domain_id: QueryStr = None,
                        name: QueryStr = None, enabled: QueryStr = None,
                        parent_id: QueryStr = None, is_domain: QueryStr = None,
                        tags: QueryStr = None,
                        tags_any: Annotated[str | None, filter_query("tags-any")] = None,
                        not_tags: Annotated[str | None, filter_query("not-tags")] = None,
                        not_tags_any: Annotated[str | None, filter_query("not-tags-any")] = None,
                        ) -> dict[str, Any]:
    filters = projects.ProjectFilters(
        domain_id=domain_id, name=name, enabled=views.query_bool(enabled), parent_id=parent_id,
        is_domain=views.query_bool(is_domain), tags=_tags(tags), tags_any=_tags(tags_any),
        not_tags=_tags(not_tags), not_tags_any=_tags(not_tags_any))
    refs = await projects.list_projects(deps, ctx, filters)
    return views.members(request, "projects", "projects", refs)


@router.api_route("/projects/{project_id}", methods=["GET", "HEAD"])
async def show_project(request: Request, project_id: str, deps: Deps, ctx: Ctx,
                       parents_as_ids: QueryStr = None, parents_as_list: QueryStr = None,
                       subtree_as_ids: QueryStr = None, subtree_as_list: QueryStr = None,
                       ) -> dict[str, Any]:
    hierarchy = projects.Hierarchy(
        parents_as_ids=bool(views.query_bool(parents_as_ids)),
        parents_as_list=bool(views.query_bool(parents_as_list)),
        subtree_as_ids=bool(views.query_bool(subtree_as_ids)),
        subtree_as_list=bool(views.query_bool(subtree_as_list)))
    ref = await projects.get_project(deps, ctx, project_id, hierarchy)
    for key in ("parents", "subtree"):
        if isinstance(ref.get(key), list):
            ref[key] = [{"project": views.member(request, "projects", p)} for p in ref[key]]
    return {"project": views.member(request, "projects", ref)}


@router.patch("/projects/{project_id}")
async def update_project(request: Request, project_id: str, body: ProjectUpdateRequest,
                         deps: Deps, ctx: Ctx) -> dict[str, Any]:
    ref = await projects.update_project(deps, ctx, project_id, body.project.changes())
    return {"project": views.member(request, "projects", ref)}


@router.delete("/projects/{project_id}", status_code=204)
async def delete_project(project_id: str, deps: Deps, ctx: Ctx) -> Response:
    await projects.delete_project(deps, ctx, project_id)
    return Response(status_code=204)


@router.api_route("/users/{user_id}/projects", methods=["GET", "HEAD"])
async def list_user_projects(request: Request, user_id: str, deps: Deps, ctx: Ctx,
                             domain_id: QueryStr = None, name: QueryStr = None,
                             enabled: QueryStr = None) -> dict[str, Any]:
    refs = await projects.list_projects_for_user(deps, ctx, user_id, domain_id=domain_id,
                                                 name=name, enabled=views.query_bool(enabled))
    return views.members(request, "projects", "projects", refs)


# --- tags --------------------------------------------------------------------------------

def _tags_body(request: Request, tags: list[str]) -> dict[str, Any]:
    return {"tags": tags, "links": {"self": str(request.url)}}


@router.api_route("/projects/{project_id}/tags", methods=["GET", "HEAD"])
async def list_tags(request: Request, project_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return _tags_body(request, await projects.list_tags(deps, ctx, project_id))


@router.put("/projects/{project_id}/tags")
async def replace_tags(request: Request, project_id: str, body: TagsRequest, deps: Deps,
                       ctx: Ctx) -> dict[str, Any]:
    return _tags_body(request, await projects.replace_tags(deps, ctx, project_id, body.tags))


@router.delete("/projects/{project_id}/tags", status_code=204)
async def delete_all_tags(project_id: str, deps: Deps, ctx: Ctx) -> Response:
    await projects.delete_all_tags(deps, ctx, project_id)
    return Response(status_code=204)


@router.api_route("/projects/{project_id}/tags/{tag}", methods=["GET", "HEAD"], status_code=204)
async def check_tag(project_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await projects.check_tag(deps, ctx, project_id, tag)
    return Response(status_code=204)


@router.put("/projects/{project_id}/tags/{tag}", status_code=201)
async def add_tag(request: Request, project_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await projects.add_tag(deps, ctx, project_id, tag)
    return Response(status_code=201, headers={"Location": str(request.url)})


@router.delete("/projects/{project_id}/tags/{tag}", status_code=204)
async def delete_tag(project_id: str, tag: str, deps: Deps, ctx: Ctx) -> Response:
    await projects.delete_tag(deps, ctx, project_id, tag)
    return Response(status_code=204)
