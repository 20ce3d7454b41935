"""User messages (3.3+): what an asynchronous failure tells the project, as Cinder's messages
API shows it. The scheduler and the volume conductor record them; users list and delete them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.context import RequestContext
from nimbus.volume import errors
from nimbus.volume.deps import VolumeDeps
from nimbus.volume.models import MessageRow
from nimbus.volume.service.common import new_id

# Cinder keeps a message this long (message_ttl).
TTL = dt.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class Event:
    """An action and a detail, as Cinder's message_field names them."""

    action_id: str
    action: str
    detail_id: str
    detail: str

    @property
    def event_id(self) -> str:
        return f"VOLUME_VOLUME_{self.action_id}_{self.detail_id}"

    @property
    def user_message(self) -> str:
        return f"{self.action}:{self.detail}"


NO_BACKEND = Event("001", "schedule allocate volume", "002",
                   "Could not find any available weighted backend.")
CREATE_FAILED = Event("002", "create volume from backend storage", "001",
                      "An unknown error occurred.")


@dataclasses.dataclass(frozen=True)
class Message:
    id: str
    request_id: str
    message_level: str
    event_id: str
    user_message: str
    resource_type: str
    resource_uuid: str | None
    created_at: dt.datetime
    expires_at: dt.datetime

    @classmethod
    def from_row(cls, row: MessageRow) -> Message:
        return cls(row.id, row.request_id, row.message_level, row.event_id, row.user_message,
                   row.resource_type, row.resource_uuid, row.created_at, row.expires_at)


def record(session: AsyncSession, ctx: RequestContext, project_id: str, volume_id: str,
           event: Event) -> None:
    now = db.utcnow()
    session.add(MessageRow(id=new_id(), project_id=project_id, request_id=ctx.request_id,
                           resource_type="VOLUME", resource_uuid=volume_id,
                           event_id=event.event_id, message_level="ERROR",
                           user_message=event.user_message, created_at=now,
                           expires_at=now + TTL))


async def list_messages(deps: VolumeDeps, ctx: RequestContext) -> list[Message]:
    deps.policy.authorize("message:get_all", ctx, {"project_id": ctx.project_id})
    async with deps.read() as session:
        query = select(MessageRow).where(MessageRow.expires_at > db.utcnow())
        if not ctx.is_admin:
            query = query.where(MessageRow.project_id == (ctx.project_id or ""))
        rows = await session.execute(query.order_by(MessageRow.created_at.desc(), MessageRow.id))
        return [Message.from_row(r) for r in rows.scalars()]


async def _visible(session: AsyncSession, ctx: RequestContext, message_id: str) -> MessageRow:
    row = await session.get(MessageRow, message_id)
    if row is None or not ctx.may_see(row.project_id):
        raise errors.MessageNotFound(message_id=message_id)
    return row


async def get_message(deps: VolumeDeps, ctx: RequestContext, message_id: str) -> Message:
    async with deps.read() as session:
        row = await _visible(session, ctx, message_id)
        deps.policy.authorize("message:get", ctx, {"project_id": row.project_id})
        return Message.from_row(row)


async def delete_message(deps: VolumeDeps, ctx: RequestContext, message_id: str) -> None:
    async with deps.write() as session:
        row = await _visible(session, ctx, message_id)
        deps.policy.authorize("message:delete", ctx, {"project_id": row.project_id})
        await session.delete(row)
