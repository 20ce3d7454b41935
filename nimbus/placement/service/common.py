"""What several service modules share: provider lookups, name checks, generation swaps, retries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from nimbus.core import db
from nimbus.core import errors as core_errors
from nimbus.placement import errors, standard
from nimbus.placement.models import CustomResourceClassRow, CustomTraitRow, ProviderRow

LOG = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    parent_uuid: str | None
    root_uuid: str
    updated_at: dt.datetime


class GenerationConflict(errors.ConcurrentUpdate):
    """A provider's generation moved between our read and our write: replaying may succeed."""


async def load_providers(session: AsyncSession, *where: object) -> list[Provider]:
    parent = aliased(ProviderRow)
    root = aliased(ProviderRow)
    stmt = (select(ProviderRow, parent.uuid, root.uuid)
            .outerjoin(parent, ProviderRow.parent_id == parent.id)
            .outerjoin(root, ProviderRow.root_id == root.id)
            .where(*where).order_by(ProviderRow.id))  # type: ignore[arg-type]
    return [Provider(row.id, row.uuid, row.name, row.generation, parent_uuid,
                     root_uuid or row.uuid, row.updated_at)
            for row, parent_uuid, root_uuid in (await session.execute(stmt)).all()]


async def provider_by_uuid(session: AsyncSession, uuid: str) -> Provider:
    found = await load_providers(session, ProviderRow.uuid == uuid)
    if not found:
        raise errors.ProviderNotFound(uuid=uuid)
    return found[0]


# Built once: every claim runs it (see allocations.py on prebuilt statements).
_PROVIDERS = cast(Table, ProviderRow.__table__)
_SWAP_GENERATION = update(_PROVIDERS).where(
    _PROVIDERS.c.id == bindparam("provider"),
    _PROVIDERS.c.generation == bindparam("expected")).values(
    generation=bindparam("next"), updated_at=bindparam("now"))


async def bump_generation(session: AsyncSession, provider_id: int, expected: int,
                          *, conflict: type[errors.ConcurrentUpdate] = GenerationConflict) -> int:
    """Compare-and-swap the provider's generation from `expected`; the new one on success.

    Every change to what a provider offers or has handed out goes through here inside the
    transaction that makes the change, so two writers that read the same generation cannot
    both commit.
    """
    result = await session.execute(_SWAP_GENERATION, {
        "provider": provider_id, "expected": expected, "next": expected + 1,
        "now": db.utcnow()})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict(detail="resource provider generation conflict: another request changed "
                              "the provider; retrieve it again and retry.")
    return expected + 1


async def unknown_resource_classes(session: AsyncSession, names: Iterable[str]) -> list[str]:
    custom = {n for n in names if not standard.is_standard_resource_class(n)}
    if not custom:
        return []
    known = set((await session.execute(select(CustomResourceClassRow.name).where(
        CustomResourceClassRow.name.in_(custom)))).scalars())
    return sorted(custom - known)


async def unknown_traits(session: AsyncSession, names: Iterable[str]) -> list[str]:
    custom = {n for n in names if not standard.is_standard_trait(n)}
    if not custom:
        return []
    known = set((await session.execute(select(CustomTraitRow.name).where(
        CustomTraitRow.name.in_(custom)))).scalars())
    return sorted(custom - known)


def _retryable(exc: DBAPIError) -> bool:
    """Deadlocks, lock timeouts and busy SQLite files: the same transaction may pass if replayed."""
    orig = exc.orig
    code = getattr(orig, "args", (None,))[0] if orig is not None else None
    if code in (1205, 1213):  # MySQL/MariaDB lock wait timeout, deadlock
        return True
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in ("40001", "40P01"):
        return True
    text = str(orig).lower()
    return "database is locked" in text or "deadlock" in text


async def with_retries(attempts: int, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` (one whole transaction) again after a lost generation race or a deadlock.

    After `attempts` tries the caller sees 409 placement.concurrent_update, never a 500.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except GenerationConflict:
            if attempt == attempts:
                raise
            LOG.debug("provider generation conflict, replaying (attempt %d)", attempt)
        except DBAPIError as exc:
            if not _retryable(exc):
                raise
            if attempt == attempts:
                raise errors.ConcurrentUpdate(
                    detail="The database was busy with concurrent updates; retry.") from exc
            LOG.debug("retryable database error, replaying (attempt %d): %s", attempt, exc.orig)
        except core_errors.Conflict as exc:
            # A unique key race (two writers creating the same consumer): core maps it to a
            # bare Conflict; ours are subclasses and pass through.
            if type(exc) is not core_errors.Conflict:
                raise
            if attempt == attempts:
                raise errors.ConcurrentUpdate(detail="Concurrent update detected; retry.") from exc
    raise AssertionError("unreachable")
