"""Revocation events: recorded on token revoke, password change, app credential delete.

A token is revoked if some event matches all of its non-null fields and the token was
issued before the event. Disabled users/projects and removed roles need no event: they
are checked at every validation.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.core import db
from nimbus.core.tokens import TokenPayload
from nimbus.identity.models import RevocationEventRow


async def record(session: AsyncSession, *, user_id: str | None = None,
                 project_id: str | None = None, domain_id: str | None = None,
                 audit_id: str | None = None, audit_chain_id: str | None = None,
                 app_cred_id: str | None = None) -> None:
    session.add(RevocationEventRow(
        user_id=user_id, project_id=project_id, domain_id=domain_id, audit_id=audit_id,
        audit_chain_id=audit_chain_id, app_cred_id=app_cred_id,
        issued_before_ms=int(time.time() * 1000) + 1, revoked_at=db.utcnow()))


async def load(session: AsyncSession) -> list[RevocationEventRow]:
    return list((await session.execute(select(RevocationEventRow))).scalars())


def is_revoked(events: list[RevocationEventRow], payload: TokenPayload) -> bool:
    audit_id = payload.audit_ids[0] if payload.audit_ids else None
    chain_id = payload.audit_ids[-1] if payload.audit_ids else None
    for ev in events:
        if payload.issued_at_ms >= ev.issued_before_ms:
            continue
        if ev.user_id is not None and ev.user_id != payload.user_id:
            continue
        if ev.project_id is not None and ev.project_id != payload.project_id:
            continue
        if ev.domain_id is not None and ev.domain_id != payload.domain_id:
            continue
        if ev.audit_id is not None and ev.audit_id != audit_id:
            continue
        if ev.audit_chain_id is not None and ev.audit_chain_id != chain_id:
            continue
        if ev.app_cred_id is not None and ev.app_cred_id != payload.app_cred_id:
            continue
        return True
    return False
