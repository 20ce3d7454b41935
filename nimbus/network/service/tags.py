"""Tags on resources with standard attributes (`/v2.0/<collection>/<id>/tags`).

`TAGGABLE` maps a collection to the function that finds one of its resources for a caller
(404 when invisible); a resource becomes taggable by adding itself there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.network import errors
from nimbus.network import validators as v
from nimbus.network.deps import NetworkDeps
from nimbus.network.models import StandardAttrs, TagRow
from nimbus.network.service import access, floating_ips, routers, security_groups

MAX_TAGS = 50

# (row, its project) of a resource the caller sees, or its NotFound.
Finder = Callable[[AsyncSession, RequestContext, str], Awaitable[tuple[StandardAttrs, str]]]


async def _network(session: AsyncSession, ctx: RequestContext,
                   item_id: str) -> tuple[StandardAttrs, str]:
    row = await access.visible_network(session, ctx, item_id)
    return row, row.project_id


async def _subnet(session: AsyncSession, ctx: RequestContext,
                  item_id: str) -> tuple[StandardAttrs, str]:
    row, _ = await access.visible_subnet(session, ctx, item_id)
    return row, row.project_id


async def _port(session: AsyncSession, ctx: RequestContext,
                item_id: str) -> tuple[StandardAttrs, str]:
    row, _ = await access.visible_port(session, ctx, item_id)
    return row, row.project_id


async def _security_group(session: AsyncSession, ctx: RequestContext,
                          item_id: str) -> tuple[StandardAttrs, str]:
    row = await security_groups.visible_group(session, ctx, item_id)
    return row, row.project_id


async def _router(session: AsyncSession, ctx: RequestContext,
                  item_id: str) -> tuple[StandardAttrs, str]:
    row = await routers.visible_router(session, ctx, item_id)
    return row, row.project_id


async def _floating_ip(session: AsyncSession, ctx: RequestContext,
                       item_id: str) -> tuple[StandardAttrs, str]:
    row = await floating_ips.visible_floating_ip(session, ctx, item_id)
    return row, row.project_id


TAGGABLE: dict[str, Finder] = {"networks": _network, "subnets": _subnet, "ports": _port,
                               "security-groups": _security_group, "routers": _router,
                               "floatingips": _floating_ip}


def _finder(collection: str) -> Finder:
    if collection not in TAGGABLE:
        raise errors.HTTPNotFound(detail=f"The resource {collection} does not support tags.")
    return TAGGABLE[collection]


def _check_tags(tags: Any) -> list[str]:
    try:
        checked = v.list_of(v.tag)(tags)
    except v.Invalid as exc:
        raise errors.HTTPBadRequest(detail=f"Invalid input for tags. Reason: {exc}.") from None
    unique = sorted(set(checked))
    if len(unique) > MAX_TAGS:
        raise errors.HTTPBadRequest(detail=f"Number of tags exceeds the maximum of {MAX_TAGS}")
    return unique


async def _current(session: AsyncSession, item_id: str) -> list[str]:
    return sorted((await session.scalars(select(TagRow.tag).where(
        TagRow.resource_id == item_id))).all())


async def _writable(deps: NetworkDeps, session: AsyncSession, ctx: RequestContext,
                    collection: str, item_id: str) -> StandardAttrs:
    row, project_id = await _finder(collection)(session, ctx, item_id)
    deps.authorize(ctx, "update_tags", {"project_id": project_id, "tenant_id": project_id})
    return row


async def list_tags(deps: NetworkDeps, ctx: RequestContext, collection: str,
                    item_id: str) -> list[str]:
    async with deps.read() as session:
        await _finder(collection)(session, ctx, item_id)
        return await _current(session, item_id)


async def check_tag(deps: NetworkDeps, ctx: RequestContext, collection: str, item_id: str,
                    tag: str) -> None:
    if tag not in await list_tags(deps, ctx, collection, item_id):
        raise errors.TagNotFound(tag=tag, resource=collection[:-1], resource_id=item_id)


async def replace_tags(deps: NetworkDeps, ctx: RequestContext, collection: str, item_id: str,
                       body: Any) -> list[str]:
    if not isinstance(body, dict) or "tags" not in body:
        raise errors.HTTPBadRequest(detail="Invalid input for tags. Reason: 'tags' missing.")
    tags = _check_tags(body["tags"])
    async with deps.write() as session:
        row = await _writable(deps, session, ctx, collection, item_id)
        await session.execute(delete(TagRow).where(TagRow.resource_id == item_id))
        session.add_all([TagRow(resource_id=item_id, tag=t, resource_type=collection)
                         for t in tags])
        access.touch(row)
    return tags


async def add_tag(deps: NetworkDeps, ctx: RequestContext, collection: str, item_id: str,
                  tag: str) -> None:
    _check_tags([tag])
    async with deps.write() as session:
        row = await _writable(deps, session, ctx, collection, item_id)
        current = await _current(session, item_id)
        if tag in current:
            return
        if len(current) >= MAX_TAGS:
            raise errors.HTTPBadRequest(detail=f"Number of tags exceeds the maximum of {MAX_TAGS}")
        session.add(TagRow(resource_id=item_id, tag=tag, resource_type=collection))
        access.touch(row)


async def delete_tag(deps: NetworkDeps, ctx: RequestContext, collection: str, item_id: str,
                     tag: str) -> None:
    async with deps.write() as session:
        row = await _writable(deps, session, ctx, collection, item_id)
        gone = await session.execute(delete(TagRow).where(TagRow.resource_id == item_id,
                                                          TagRow.tag == tag))
        if not getattr(gone, "rowcount", 0):
            raise errors.TagNotFound(tag=tag, resource=collection[:-1], resource_id=item_id)
        access.touch(row)


async def delete_tags(deps: NetworkDeps, ctx: RequestContext, collection: str,
                      item_id: str) -> None:
    async with deps.write() as session:
        row = await _writable(deps, session, ctx, collection, item_id)
        await session.execute(delete(TagRow).where(TagRow.resource_id == item_id))
        access.touch(row)
