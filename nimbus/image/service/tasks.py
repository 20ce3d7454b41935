"""Import tasks, as `GET /v2/images/{id}/tasks` (Image API 2.12) reports them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.image.deps import ImageDeps
from nimbus.image.domain import Task
from nimbus.image.models import TaskRow
from nimbus.image.service import access

# Glance keeps finished tasks for 48 hours.
TASK_TTL = dt.timedelta(hours=48)


def _task(row: TaskRow) -> Task:
    return Task(id=row.id, image_id=row.image_id, type=row.type, status=row.status,
                owner=row.owner, user_id=row.user_id, request_id=row.request_id,
                input=row.input, result=row.result, message=row.message,
                created_at=row.created_at, updated_at=row.updated_at, expires_at=row.expires_at)


def start(session: AsyncSession, ctx: RequestContext, image_id: str, owner: str | None,
          import_request: dict[str, Any]) -> str:
    now = db.utcnow()
    task_id = str(uuid.uuid4())
    session.add(TaskRow(
        id=task_id, image_id=image_id, type="api_image_import", status="processing",
        owner=owner, user_id=ctx.user_id, request_id=ctx.request_id,
        input={"image_id": image_id, "import_req": import_request,
               "backend": import_request.get("stores") or ["file"]},
        result=None, message="", created_at=now, updated_at=now))
    return task_id


async def finish(deps: ImageDeps, task_id: str, *, ok: bool, message: str = "") -> None:
    now = db.utcnow()
    async with deps.write() as session:
        await session.execute(update(TaskRow).where(TaskRow.id == task_id).values(
            status="success" if ok else "failure", message=message, updated_at=now,
            expires_at=now + TASK_TTL, result={"image_id": None} if not ok else {}))


async def list_tasks(deps: ImageDeps, ctx: RequestContext, image_id: str) -> list[Task]:
    async with deps.read() as session:
        image = await access.visible_row(session, ctx, image_id)
        deps.policy.authorize("image:get_image_tasks", ctx, access.policy_target(image))
        rows = (await session.execute(select(TaskRow).where(TaskRow.image_id == image_id)
                                      .order_by(TaskRow.created_at, TaskRow.id))).scalars()
        return [_task(r) for r in rows]
