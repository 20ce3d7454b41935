"""Managing the catalog: `/v3/regions`, `/v3/services`, `/v3/endpoints`.

Every change is a write, which bumps the identity generation: the catalog cached for tokens
(service/tokens.py) is rebuilt, so tokens issued or validated afterwards show the change.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.identity import errors
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.models import CatalogServiceRow, EndpointRow, RegionRow
from nimbus.identity.service.ids import new_id

INTERFACES = ("public", "internal", "admin")
# What service/catalog_view.py can fill into an endpoint URL.
URL_SUBSTITUTIONS = frozenset({"project_id", "tenant_id", "user_id"})
_SUBST = re.compile(r"\$\((\w*)\)s|%\((\w*)\)s")


@dataclasses.dataclass(frozen=True)
class Region:
    id: str
    description: str
    parent_region_id: str | None
    extra: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Service:
    id: str
    type: str
    name: str | None
    description: str | None
    enabled: bool
    extra: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    id: str
    service_id: str
    interface: str
    region_id: str | None
    url: str
    enabled: bool
    extra: dict[str, Any]


def _region(row: RegionRow) -> Region:
    return Region(id=row.id, description=row.description or "",
                  parent_region_id=row.parent_region_id, extra=dict(row.extra or {}))


def _service(row: CatalogServiceRow) -> Service:
    return Service(id=row.id, type=row.type, name=row.name, description=row.description,
                   enabled=row.enabled, extra=dict(row.extra or {}))


def _endpoint(row: EndpointRow) -> Endpoint:
    return Endpoint(id=row.id, service_id=row.service_id, interface=row.interface,
                    region_id=row.region_id, url=row.url, enabled=row.enabled,
                    extra=dict(row.extra or {}))


def check_endpoint_url(url: str) -> None:
    """400 unless every `$(name)s` in the URL is one the catalog can fill in."""
    for match in _SUBST.finditer(url):
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name not in URL_SUBSTITUTIONS:
            raise errors.ValidationError(
                detail=f"Invalid endpoint URL {url!r}: unknown substitution {name!r} "
                       f"(allowed: {', '.join(sorted(URL_SUBSTITUTIONS))}).")
    if "$(" in _SUBST.sub("", url):
        raise errors.ValidationError(detail=f"Invalid endpoint URL {url!r}.")


# --- regions -------------------------------------------------------------------------------

async def _load_region(session: AsyncSession, region_id: str) -> RegionRow:
    row = await session.get(RegionRow, region_id)
    if row is None:
        raise errors.RegionNotFound(region_id=region_id)
    return row


async def create_region(deps: IdentityDeps, ctx: RequestContext, *, region_id: str | None,
                        description: str | None, parent_region_id: str | None,
                        extra: dict[str, Any]) -> Region:
    """A region with the given id or a new one; 409 if the id is taken, 404 if the parent
    region does not exist."""
    deps.policy.authorize("identity:create_region", ctx, {})
    async with deps.write() as session:
        region_id = region_id or new_id()
        if await session.get(RegionRow, region_id) is not None:
            raise errors.DuplicateEntry(kind="region", field="id", value=region_id)
        if parent_region_id is not None:
            await _load_region(session, parent_region_id)
        row = RegionRow(id=region_id, description=description or "",
                        parent_region_id=parent_region_id, extra=extra)
        session.add(row)
        await session.flush()
        return _region(row)


async def get_region(deps: IdentityDeps, ctx: RequestContext, region_id: str) -> Region:
    deps.policy.authorize("identity:get_region", ctx, {})
    async with deps.read() as session:
        return _region(await _load_region(session, region_id))


async def list_regions(deps: IdentityDeps, ctx: RequestContext, *,
                       parent_region_id: str | None = None) -> list[Region]:
    deps.policy.authorize("identity:list_regions", ctx, {})
    query = select(RegionRow).order_by(RegionRow.id)
    if parent_region_id is not None:
        query = query.where(RegionRow.parent_region_id == parent_region_id)
    async with deps.read() as session:
        return [_region(r) for r in (await session.execute(query)).scalars()]


async def update_region(deps: IdentityDeps, ctx: RequestContext, region_id: str, *,
                        changes: dict[str, Any], extra: dict[str, Any]) -> Region:
    """Change description or parent; 404 for a missing parent, 400 for a cycle."""
    deps.policy.authorize("identity:update_region", ctx, {})
    async with deps.write() as session:
        row = await _load_region(session, region_id)
        if "parent_region_id" in changes:
            parent_id = changes["parent_region_id"]
            ancestor = parent_id
            while ancestor is not None:
                if ancestor == region_id:
                    raise errors.CircularRegionHierarchy(parent_region_id=parent_id)
                ancestor = (await _load_region(session, ancestor)).parent_region_id
            row.parent_region_id = parent_id
        if "description" in changes:
            row.description = changes["description"] or ""
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await session.flush()
        return _region(row)


async def delete_region(deps: IdentityDeps, ctx: RequestContext, region_id: str) -> None:
    """Delete the region and its child regions; 403 if any of them has endpoints."""
    deps.policy.authorize("identity:delete_region", ctx, {})
    async with deps.write() as session:
        await _load_region(session, region_id)
        children: dict[str | None, list[str]] = {}
        for rid, parent in (await session.execute(
                select(RegionRow.id, RegionRow.parent_region_id))).all():
            children.setdefault(parent, []).append(rid)
        subtree, frontier = [region_id], [region_id]
        while frontier:
            for child in children.get(frontier.pop(), []):
                if child not in subtree:
                    subtree.append(child)
                    frontier.append(child)
        used = (await session.execute(select(EndpointRow.id).where(
            EndpointRow.region_id.in_(subtree)).limit(1))).first()
        if used is not None:
            raise errors.RegionDeletionError(region_id=region_id)
        await session.execute(delete(RegionRow).where(RegionRow.id.in_(subtree)))


# --- services ------------------------------------------------------------------------------

async def _load_service(session: AsyncSession, service_id: str) -> CatalogServiceRow:
    row = await session.get(CatalogServiceRow, service_id)
    if row is None:
        raise errors.ServiceNotFound(service_id=service_id)
    return row


async def create_service(deps: IdentityDeps, ctx: RequestContext, *, type: str,
                         name: str | None, description: str | None, enabled: bool,
                         extra: dict[str, Any]) -> Service:
    deps.policy.authorize("identity:create_service", ctx, {})
    async with deps.write() as session:
        row = CatalogServiceRow(id=new_id(), type=type, name=name if name is not None else "",
                                description=description, enabled=enabled, extra=extra)
        session.add(row)
        await session.flush()
        return _service(row)


async def get_service(deps: IdentityDeps, ctx: RequestContext, service_id: str) -> Service:
    deps.policy.authorize("identity:get_service", ctx, {})
    async with deps.read() as session:
        return _service(await _load_service(session, service_id))


async def list_services(deps: IdentityDeps, ctx: RequestContext, *, type: str | None = None,
                        name: str | None = None) -> list[Service]:
    deps.policy.authorize("identity:list_services", ctx, {})
    query = select(CatalogServiceRow).order_by(CatalogServiceRow.type, CatalogServiceRow.id)
    if type is not None:
        query = query.where(CatalogServiceRow.type == type)
    if name is not None:
        query = query.where(CatalogServiceRow.name == name)
    async with deps.read() as session:
        return [_service(r) for r in (await session.execute(query)).scalars()]


async def update_service(deps: IdentityDeps, ctx: RequestContext, service_id: str, *,
                         changes: dict[str, Any], extra: dict[str, Any]) -> Service:
    deps.policy.authorize("identity:update_service", ctx, {})
    async with deps.write() as session:
        row = await _load_service(session, service_id)
        for field in ("type", "name", "description", "enabled"):
            if field in changes:
                setattr(row, field, changes[field])
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await session.flush()
        return _service(row)


async def delete_service(deps: IdentityDeps, ctx: RequestContext, service_id: str) -> None:
    """Delete the service and its endpoints."""
    deps.policy.authorize("identity:delete_service", ctx, {})
    async with deps.write() as session:
        row = await _load_service(session, service_id)
        await session.execute(delete(EndpointRow).where(EndpointRow.service_id == service_id))
        await session.delete(row)


# --- endpoints -----------------------------------------------------------------------------

async def _load_endpoint(session: AsyncSession, endpoint_id: str) -> EndpointRow:
    row = await session.get(EndpointRow, endpoint_id)
    if row is None:
        raise errors.EndpointNotFound(endpoint_id=endpoint_id)
    return row


async def _resolve_region(session: AsyncSession, region_id: str | None,
                          legacy_region: str | None) -> str | None:
    """Keystone's rule: `region_id` must name a region (400 if not); the deprecated `region`
    creates its region when missing."""
    if region_id is not None:
        if await session.get(RegionRow, region_id) is None:
            raise errors.ValidationError(
                detail=f"Invalid endpoint region_id {region_id}: no such region.")
        return region_id
    if legacy_region is not None:
        if await session.get(RegionRow, legacy_region) is None:
            session.add(RegionRow(id=legacy_region, description="", extra={}))
            await session.flush()
        return legacy_region
    return None


async def _check_service(session: AsyncSession, service_id: str) -> None:
    if await session.get(CatalogServiceRow, service_id) is None:
        raise errors.ValidationError(
            detail=f"Invalid endpoint service_id {service_id}: no such service.")


async def create_endpoint(deps: IdentityDeps, ctx: RequestContext, *, service_id: str,
                          interface: str, url: str, region_id: str | None,
                          legacy_region: str | None, enabled: bool,
                          extra: dict[str, Any]) -> Endpoint:
    """A new endpoint; 400 for an unknown service or region_id or an unusable URL."""
    deps.policy.authorize("identity:create_endpoint", ctx, {})
    check_endpoint_url(url)
    async with deps.write() as session:
        await _check_service(session, service_id)
        region = await _resolve_region(session, region_id, legacy_region)
        row = EndpointRow(id=new_id(), service_id=service_id, interface=interface,
                          region_id=region, url=url, enabled=enabled, extra=extra)
        session.add(row)
        await session.flush()
        return _endpoint(row)


async def get_endpoint(deps: IdentityDeps, ctx: RequestContext, endpoint_id: str) -> Endpoint:
    deps.policy.authorize("identity:get_endpoint", ctx, {})
    async with deps.read() as session:
        return _endpoint(await _load_endpoint(session, endpoint_id))


async def list_endpoints(deps: IdentityDeps, ctx: RequestContext, *,
                         interface: str | None = None, service_id: str | None = None,
                         region_id: str | None = None) -> list[Endpoint]:
    deps.policy.authorize("identity:list_endpoints", ctx, {})
    query = select(EndpointRow).order_by(EndpointRow.service_id, EndpointRow.interface,
                                         EndpointRow.id)
    if interface is not None:
        query = query.where(EndpointRow.interface == interface)
    if service_id is not None:
        query = query.where(EndpointRow.service_id == service_id)
    if region_id is not None:
        query = query.where(EndpointRow.region_id == region_id)
    async with deps.read() as session:
        return [_endpoint(r) for r in (await session.execute(query)).scalars()]


async def update_endpoint(deps: IdentityDeps, ctx: RequestContext, endpoint_id: str, *,
                          changes: dict[str, Any], extra: dict[str, Any]) -> Endpoint:
    """Change any attribute; the same checks as create apply to what changes."""
    deps.policy.authorize("identity:update_endpoint", ctx, {})
    if changes.get("url") is not None:
        check_endpoint_url(changes["url"])
    async with deps.write() as session:
        row = await _load_endpoint(session, endpoint_id)
        if "service_id" in changes:
            await _check_service(session, changes["service_id"])
            row.service_id = changes["service_id"]
        if "region_id" in changes or "region" in changes:
            row.region_id = await _resolve_region(session, changes.get("region_id"),
                                                  changes.get("region"))
        for field in ("interface", "url", "enabled"):
            if field in changes:
                setattr(row, field, changes[field])
        if extra:
            row.extra = {**(row.extra or {}), **extra}
        await session.flush()
        return _endpoint(row)


async def delete_endpoint(deps: IdentityDeps, ctx: RequestContext, endpoint_id: str) -> None:
    deps.policy.authorize("identity:delete_endpoint", ctx, {})
    async with deps.write() as session:
        await session.delete(await _load_endpoint(session, endpoint_id))
