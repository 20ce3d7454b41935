"""Image records: create, show, update (JSON patch), delete, deactivate, reactivate, tags."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.image import errors
from nimbus.image.deps import ImageDeps
from nimbus.image.domain import Image
from nimbus.image.models import ImageRow, MemberRow, PropertyRow, StagingRow, TagRow, TaskRow
from nimbus.image.schemas import (
    BASE_ATTRIBUTES,
    DISALLOWED_ON_CREATE,
    READ_ONLY,
    RESERVED,
    RESERVED_PREFIXES,
    check_value,
)
from nimbus.image.service import access, patch, quotas

LOG = logging.getLogger(__name__)

# Base attributes a client may set (the rest are read-only or kept elsewhere).
_WRITABLE = ("name", "visibility", "protected", "os_hidden", "owner", "container_format",
             "disk_format", "min_ram", "min_disk")


def _split_body(body: Any) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """A create body as (base attributes, extra properties, tags), validated like Glance."""
    if not isinstance(body, dict):
        raise errors.InvalidImage(detail="Body expected in request.")
    for key in body:
        if key in DISALLOWED_ON_CREATE or (key in READ_ONLY and key != "id"):
            raise errors.ReadOnlyAttribute(name=key)
    for key, value in body.items():
        if problem := check_value(key, value):
            raise errors.InvalidImage(
                detail=f"Provided object does not match schema 'image': {problem}")
    attrs = {k: body[k] for k in (*_WRITABLE, "id") if k in body}
    tags = list(dict.fromkeys(body.get("tags") or []))
    props = {k: v for k, v in body.items() if k not in BASE_ATTRIBUTES}
    for key in props:
        if len(key) > 255:
            raise errors.InvalidImage(detail="Custom property should not be greater than 255 "
                                             "characters.")
        if key in RESERVED or key.startswith(RESERVED_PREFIXES):
            raise errors.ReservedAttribute(name=key)
    return attrs, props, tags


def _authorize_visibility(deps: ImageDeps, ctx: RequestContext, visibility: str,
                          target: dict[str, Any]) -> None:
    if visibility == "public":
        deps.policy.authorize("image:publicize_image", ctx, target)
    elif visibility == "community":
        deps.policy.authorize("image:communitize_image", ctx, target)


def _check_limits(deps: ImageDeps, props: dict[str, str], tags: list[str]) -> None:
    config = deps.config
    if 0 <= config.image_property_quota < len(props):
        raise errors.TooManyProperties(limit=config.image_property_quota)
    if 0 <= config.image_tag_quota < len(tags):
        raise errors.TooManyTags(limit=config.image_tag_quota)


async def create_image(deps: ImageDeps, ctx: RequestContext, body: Any) -> Image:
    """A queued image owned by the caller's project (or, for admins, by `owner`)."""
    attrs, props, tags = _split_body(body)
    owner = attrs.get("owner", ctx.project_id)
    visibility = attrs.get("visibility", "shared")
    target = {"owner": owner, "visibility": visibility}
    deps.policy.authorize("image:add_image", ctx, target)
    _authorize_visibility(deps, ctx, visibility, target)
    image_id = attrs.get("id") or str(uuid.uuid4())
    _check_limits(deps, props, tags)
    now = db.utcnow()
    async with deps.write() as session:
        await quotas.enforce_image_count(session, deps.config, owner)
        if await session.get(ImageRow, image_id) is not None:
            raise errors.DuplicateImage(image_id=image_id)
        row = ImageRow(
            id=image_id, name=attrs.get("name"), status="queued", visibility=visibility,
            protected=attrs.get("protected", False), os_hidden=attrs.get("os_hidden", False),
            owner=owner, disk_format=attrs.get("disk_format"),
            container_format=attrs.get("container_format"), min_disk=attrs.get("min_disk", 0),
            min_ram=attrs.get("min_ram", 0), created_at=now, updated_at=now)
        session.add(row)
        await session.flush()
        session.add_all([PropertyRow(image_id=image_id, name=k, value=v) for k, v in props.items()])
        session.add_all([TagRow(image_id=image_id, value=t) for t in tags])
        await session.flush()
        image = await access.to_image(session, row)
    LOG.info("image %s created by project %s", image_id, ctx.project_id)
    return image


async def get_image(deps: ImageDeps, ctx: RequestContext, image_id: str) -> Image:
    async with deps.read() as session:
        row = await access.visible_row(session, ctx, image_id)
        deps.policy.authorize("image:get_image", ctx, access.policy_target(row))
        return await access.to_image(session, row)


async def _writable_row(deps: ImageDeps, session: AsyncSession, ctx: RequestContext,
                        image_id: str, rule: str) -> ImageRow:
    """The row, locked, if the caller may change it: 404 if unseen, 403 if only seen."""
    row = await access.visible_row(session, ctx, image_id, for_update=True)
    if not deps.policy.allowed(rule, ctx, access.policy_target(row)):
        raise errors.ImageNotModifiable(image_id=image_id)
    return row


async def _children(session: AsyncSession, image_id: str) -> tuple[dict[str, str], list[str]]:
    props = {p.name: p.value for p in (await session.execute(
        select(PropertyRow).where(PropertyRow.image_id == image_id))).scalars()}
    tags = list((await session.execute(
        select(TagRow.value).where(TagRow.image_id == image_id))).scalars())
    return props, tags


async def update_image(deps: ImageDeps, ctx: RequestContext, image_id: str, body: Any,
                       media_type: str | None) -> Image:
    """Apply a JSON-patch document; all of it, or nothing."""
    draft = patch.MEDIA_TYPES.get((media_type or "").split(";")[0].strip().lower())
    if draft is None:
        raise errors.WrongContentType(content_type=media_type or "(none)",
                                      expected=", ".join(sorted(patch.MEDIA_TYPES)))
    changes = patch.parse(body, draft)
    async with deps.write() as session:
        row = await _writable_row(deps, session, ctx, image_id, "image:modify_image")
        props, tags = await _children(session, image_id)
        attrs: dict[str, Any] = {k: getattr(row, k) for k in _WRITABLE}
        attrs["tags"] = list(tags)
        patch.apply(attrs, props, changes)
        new_tags = list(dict.fromkeys(attrs.pop("tags")))
        _check_update(deps, ctx, row, attrs)
        _check_limits(deps, props, new_tags)
        if changes:
            for key, value in attrs.items():
                if getattr(row, key) != value:
                    setattr(row, key, value)
            row.updated_at = db.utcnow()
            await _replace_children(session, image_id, props, new_tags)
            await session.flush()
        return await access.to_image(session, row)


def _check_update(deps: ImageDeps, ctx: RequestContext, row: ImageRow,
                  attrs: dict[str, Any]) -> None:
    target = access.policy_target(row)
    if attrs["owner"] != row.owner and not ctx.is_admin:
        raise errors.OwnerChangeForbidden()
    if attrs["visibility"] != row.visibility:
        _authorize_visibility(deps, ctx, attrs["visibility"], target)
    for key in ("disk_format", "container_format"):
        if attrs[key] != getattr(row, key) and row.status not in ("queued", "importing"):
            raise errors.FormatChangeForbidden(name=key)


async def _replace_children(session: AsyncSession, image_id: str, props: dict[str, str],
                            tags: list[str]) -> None:
    await session.execute(delete(PropertyRow).where(PropertyRow.image_id == image_id))
    await session.execute(delete(TagRow).where(TagRow.image_id == image_id))
    await session.flush()
    session.add_all([PropertyRow(image_id=image_id, name=k, value=v) for k, v in props.items()])
    session.add_all([TagRow(image_id=image_id, value=t) for t in tags])


async def delete_image(deps: ImageDeps, ctx: RequestContext, image_id: str) -> None:
    """Removes the record, then its data; an upload in flight notices and cleans up after itself."""
    async with deps.write() as session:
        row = await _writable_row(deps, session, ctx, image_id, "image:delete_image")
        if row.protected:
            raise errors.ImageProtected(image_id=image_id)
        staged = await session.get(StagingRow, image_id)
        locations = [(deps.store, row.location)] if row.location else []
        if staged is not None:
            locations.append((deps.staging, staged.location))
        for model in (PropertyRow, TagRow, MemberRow, StagingRow, TaskRow):
            await session.execute(delete(model).where(model.image_id == image_id))
        await session.delete(row)
    for store, location in locations:
        try:
            await store.delete(location)
        except Exception:  # the record is gone either way; a leftover file is only logged
            LOG.exception("could not delete data of image %s at %s", image_id, location)
    LOG.info("image %s deleted", image_id)


async def set_active(deps: ImageDeps, ctx: RequestContext, image_id: str, *,
                     active: bool) -> None:
    """Deactivate (`active=False`) or reactivate; a no-op when already there."""
    action = "reactivate" if active else "deactivate"
    async with deps.write() as session:
        row = await access.visible_row(session, ctx, image_id, for_update=True)
        deps.policy.authorize(f"image:{action}", ctx, access.policy_target(row))
        wanted, other = ("active", "deactivated") if active else ("deactivated", "active")
        if row.status == other:
            row.status = wanted
            row.updated_at = db.utcnow()
        elif row.status != wanted:
            raise errors.InvalidStatusForAction(action=action, status=row.status)


async def add_tag(deps: ImageDeps, ctx: RequestContext, image_id: str, tag: str) -> None:
    if problem := check_value("tags", [tag]):
        raise errors.InvalidImage(detail=f"Provided object does not match schema 'image': "
                                         f"{problem}")
    async with deps.write() as session:
        row = await _writable_row(deps, session, ctx, image_id, "image:modify_image")
        _, tags = await _children(session, image_id)
        if tag in tags:
            return
        _check_limits(deps, {}, [*tags, tag])
        session.add(TagRow(image_id=image_id, value=tag))
        row.updated_at = db.utcnow()


async def delete_tag(deps: ImageDeps, ctx: RequestContext, image_id: str, tag: str) -> None:
    async with deps.write() as session:
        row = await _writable_row(deps, session, ctx, image_id, "image:modify_image")
        result = await session.execute(
            delete(TagRow).where(TagRow.image_id == image_id, TagRow.value == tag))
        if not getattr(result, "rowcount", 0):
            raise errors.TagNotFound(tag=tag, image_id=image_id)
        row.updated_at = db.utcnow()


async def delete_from_store(deps: ImageDeps, ctx: RequestContext, store_id: str,
                            image_id: str) -> None:
    """DELETE /v2/stores/{store}/{image} (API 2.10): never the image's only copy, and Nimbus
    keeps one copy per image, so this answers why not."""
    if store_id != deps.store.store_id:
        raise errors.StoreNotFound(store_id=store_id)
    async with deps.read() as session:
        row = await access.visible_row(session, ctx, image_id)
        if not deps.policy.allowed("image:delete_image", ctx, access.policy_target(row)):
            raise errors.ImageNotModifiable(image_id=image_id)
        if row.location is None:
            raise errors.ImageNotInStore(image_id=image_id, store_id=store_id)
    raise errors.LastCopy(image_id=image_id)
