"""Image sharing: members of `shared` images, and their pending/accepted/rejected status.

The owner adds and removes members; only the member's own project changes its status. A
member sees the image (any status) and, once it has accepted, finds it in its default list.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.image import errors
from nimbus.image.deps import ImageDeps
from nimbus.image.domain import MEMBER_STATUSES, Member
from nimbus.image.models import ImageRow, MemberRow
from nimbus.image.service import access

LOG = logging.getLogger(__name__)


def _member(row: MemberRow) -> Member:
    return Member(image_id=row.image_id, member_id=row.member, status=row.status,
                  created_at=row.created_at, updated_at=row.updated_at)


def _shared_only(row: ImageRow) -> None:
    if row.visibility != "shared":
        raise errors.MembersOnlyForShared()


def _may_see_member(ctx: RequestContext, image: ImageRow, member_id: str) -> bool:
    """The owner sees every member; a member project sees only itself."""
    return access.sees_everything(ctx) or access.is_owner(ctx, image) or \
        member_id == ctx.project_id


async def add_member(deps: ImageDeps, ctx: RequestContext, image_id: str,
                     member_id: str) -> Member:
    async with deps.write() as session:
        image = await access.visible_row(session, ctx, image_id, for_update=True)
        _shared_only(image)
        if not deps.policy.allowed("image:add_member", ctx, access.policy_target(image)):
            raise errors.MemberActionForbidden(action="create", image_id=image_id)
        if await session.get(MemberRow, (image_id, member_id)) is not None:
            raise errors.DuplicateMember(member_id=member_id, image_id=image_id)
        limit = deps.config.image_member_quota
        if limit >= 0:
            count = (await session.execute(select(func.count()).select_from(MemberRow).where(
                MemberRow.image_id == image_id))).scalar_one()
            if count >= limit:
                raise errors.TooManyMembers(image_id=image_id, limit=limit)
        now = db.utcnow()
        row = MemberRow(image_id=image_id, member=member_id, status="pending", created_at=now,
                        updated_at=now)
        session.add(row)
        await session.flush()
        LOG.info("image %s shared with project %s", image_id, member_id)
        return _member(row)


async def list_members(deps: ImageDeps, ctx: RequestContext, image_id: str) -> list[Member]:
    async with deps.read() as session:
        image = await access.visible_row(session, ctx, image_id)
        _shared_only(image)
        deps.policy.authorize("image:get_members", ctx, access.policy_target(image))
        rows = (await session.execute(select(MemberRow).where(
            MemberRow.image_id == image_id).order_by(MemberRow.created_at,
                                                     MemberRow.member))).scalars()
        return [_member(r) for r in rows if _may_see_member(ctx, image, r.member)]


async def get_member(deps: ImageDeps, ctx: RequestContext, image_id: str,
                     member_id: str) -> Member:
    async with deps.read() as session:
        image = await access.visible_row(session, ctx, image_id)
        row = await session.get(MemberRow, (image_id, member_id))
        # Glance answers 404 for everything here, so that members cannot probe each other.
        if image.visibility != "shared" or row is None or \
                not _may_see_member(ctx, image, member_id) or \
                not deps.policy.allowed("image:get_member", ctx, access.policy_target(image)):
            raise errors.MemberNotFound(member_id=member_id, image_id=image_id)
        return _member(row)


async def update_member(deps: ImageDeps, ctx: RequestContext, image_id: str, member_id: str,
                        status: str) -> Member:
    if status not in MEMBER_STATUSES:
        raise errors.InvalidImage(detail=f"Incorrect request: Invalid status: {status}")
    async with deps.write() as session:
        image = await access.visible_row(session, ctx, image_id)
        _shared_only(image)
        row = await session.get(MemberRow, (image_id, member_id), with_for_update=True)
        if row is None or not _may_see_member(ctx, image, member_id):
            raise errors.MemberNotFound(member_id=member_id, image_id=image_id)
        target = access.policy_target(image, member_id=member_id)
        if not deps.policy.allowed("image:modify_member", ctx, target):
            raise errors.MemberActionForbidden(action="update", image_id=image_id)
        if row.status != status:
            row.status = status
            row.updated_at = db.utcnow()
        return _member(row)


async def delete_member(deps: ImageDeps, ctx: RequestContext, image_id: str,
                        member_id: str) -> None:
    async with deps.write() as session:
        image = await access.visible_row(session, ctx, image_id)
        _shared_only(image)
        row = await session.get(MemberRow, (image_id, member_id))
        if row is None or not _may_see_member(ctx, image, member_id):
            raise errors.MemberNotFound(member_id=member_id, image_id=image_id)
        if not deps.policy.allowed("image:delete_member", ctx, access.policy_target(image)):
            raise errors.MemberActionForbidden(action="delete", image_id=image_id)
        await session.delete(row)
