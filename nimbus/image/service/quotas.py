"""Per-project image quotas (Glance's unified-limit names), answered with 413 when exceeded.

Limits come from `settings.image`; a negative limit means unlimited. Checks read current usage
in the caller's transaction; two concurrent uploads may both pass a check at its edge, as in
Glance, but neither can exceed `image_size_cap`.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core.config import ImageSettings
from nimbus.image import errors
from nimbus.image.domain import Usage
from nimbus.image.models import ImageRow, StagingRow

UNLIMITED = -1


async def image_count(session: AsyncSession, owner: str | None) -> int:
    count = (await session.execute(
        select(func.count()).select_from(ImageRow).where(ImageRow.owner == owner))).scalar_one()
    return int(count or 0)


async def bytes_stored(session: AsyncSession, owner: str | None) -> int:
    total = (await session.execute(select(func.coalesce(func.sum(ImageRow.size), 0)).where(
        ImageRow.owner == owner, ImageRow.location.is_not(None)))).scalar_one()
    return int(total or 0)


async def bytes_staged(session: AsyncSession, owner: str | None) -> int:
    total = (await session.execute(
        select(func.coalesce(func.sum(StagingRow.size), 0))
        .join(ImageRow, ImageRow.id == StagingRow.image_id)
        .where(ImageRow.owner == owner))).scalar_one()
    return int(total or 0)


async def uploading_count(session: AsyncSession, owner: str | None) -> int:
    return int((await session.execute(
        select(func.count()).select_from(ImageRow).where(
            ImageRow.owner == owner,
            ImageRow.status.in_(("saving", "uploading", "importing"))))).scalar_one())


async def enforce_image_count(session: AsyncSession, config: ImageSettings,
                              owner: str | None) -> None:
    limit = config.image_count_total
    if limit >= 0 and owner is not None:
        wanted = await image_count(session, owner) + 1
        if wanted > limit:
            raise errors.QuotaExceeded(project_id=owner, resource="image_count_total",
                                       limit=limit, wanted=wanted)


async def bytes_allowed(session: AsyncSession, config: ImageSettings, owner: str | None, *,
                        staging: bool) -> int:
    """How many more bytes `owner` may write: the smaller of the size cap and its quota."""
    allowed = config.image_size_cap
    if owner is None:
        return allowed
    limit = config.image_stage_total if staging else config.image_size_total
    if limit >= 0:
        used = await (bytes_staged if staging else bytes_stored)(session, owner)
        if used >= limit:
            raise errors.QuotaExceeded(
                project_id=owner, resource="image_stage_total" if staging else "image_size_total",
                limit=limit, wanted=used + 1)
        allowed = min(allowed, limit - used)
    return allowed


async def usage(session: AsyncSession, config: ImageSettings, owner: str | None) -> Usage:
    return Usage(
        limits={"image_size_total": config.image_size_total,
                "image_stage_total": config.image_stage_total,
                "image_count_total": config.image_count_total,
                "image_count_uploading": UNLIMITED},
        usage={"image_size_total": await bytes_stored(session, owner),
               "image_stage_total": await bytes_staged(session, owner),
               "image_count_total": await image_count(session, owner),
               "image_count_uploading": await uploading_count(session, owner)})
