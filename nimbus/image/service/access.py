"""Loading images and deciding who sees them; rows become `domain.Image` here.

Glance's visibility rules, in one place for single images and lists (`listing.py`):
admins and services see everything; others see their own project's images, public and
community images, and shared images of which their project is a member (any member status
for a direct read; lists show shared images only once accepted, unless `member_status` says
otherwise). An image the caller may not see is "not found", never "forbidden".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.context import RequestContext
from nimbus.image import errors
from nimbus.image.domain import Image
from nimbus.image.models import ImageRow, MemberRow, PropertyRow, TagRow


def sees_everything(ctx: RequestContext) -> bool:
    return ctx.is_admin or "service" in ctx.roles


def policy_target(row: ImageRow, **extra: Any) -> dict[str, Any]:
    return {"id": row.id, "owner": row.owner, "visibility": row.visibility,
            "status": row.status, "protected": row.protected, **extra}


async def membership(session: AsyncSession, image_id: str,
                     project_id: str | None) -> MemberRow | None:
    if project_id is None:
        return None
    return await session.get(MemberRow, (image_id, project_id))


async def may_see(session: AsyncSession, ctx: RequestContext, row: ImageRow) -> bool:
    if sees_everything(ctx) or row.visibility in ("public", "community"):
        return True
    if ctx.project_id is not None and row.owner == ctx.project_id:
        return True
    return row.visibility == "shared" and \
        await membership(session, row.id, ctx.project_id) is not None


# Statements built once: building one and its cache key costs more than SQLite running it,
# and every boot reads its image through here.
_ROW = select(ImageRow).where(ImageRow.id == bindparam("id"))
_ROW_FOR_UPDATE = _ROW.with_for_update()
_PROPERTIES_OF = select(PropertyRow).where(PropertyRow.image_id.in_(bindparam("ids", expanding=True)))
_TAGS_OF = select(TagRow).where(
    TagRow.image_id.in_(bindparam("ids", expanding=True))).order_by(TagRow.value)


async def visible_row(session: AsyncSession, ctx: RequestContext, image_id: str, *,
                      for_update: bool = False) -> ImageRow:
    """The image row, if the caller may see it; ImageNotFound otherwise."""
    query = _ROW_FOR_UPDATE if for_update else _ROW
    row = (await session.execute(query, {"id": image_id})).scalar_one_or_none()
    if row is None or not await may_see(session, ctx, row):
        raise errors.ImageNotFound(image_id=image_id)
    return row


def is_owner(ctx: RequestContext, row: ImageRow) -> bool:
    return ctx.project_id is not None and row.owner == ctx.project_id


async def to_images(session: AsyncSession, rows: Iterable[ImageRow]) -> list[Image]:
    """Domain images for rows, with their properties and tags (two queries in all)."""
    rows = list(rows)
    ids = [r.id for r in rows]
    props: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, list[str]] = defaultdict(list)
    if ids:
        for p in (await session.execute(_PROPERTIES_OF, {"ids": ids})).scalars():
            props[p.image_id][p.name] = p.value
        for t in (await session.execute(_TAGS_OF, {"ids": ids})).scalars():
            tags[t.image_id].append(t.value)
    return [_image(r, props[r.id], tags[r.id]) for r in rows]


async def to_image(session: AsyncSession, row: ImageRow) -> Image:
    return (await to_images(session, [row]))[0]


def _image(row: ImageRow, props: dict[str, str], tags: list[str]) -> Image:
    return Image(
        id=row.id, name=row.name, status=row.status, visibility=row.visibility,
        protected=row.protected, os_hidden=row.os_hidden, owner=row.owner,
        disk_format=row.disk_format, container_format=row.container_format, size=row.size,
        virtual_size=row.virtual_size, checksum=row.checksum, os_hash_algo=row.os_hash_algo,
        os_hash_value=row.os_hash_value, min_disk=row.min_disk, min_ram=row.min_ram,
        created_at=row.created_at, updated_at=row.updated_at, properties=props,
        tags=tuple(tags), stores=(row.store,) if row.store and row.location else ())
