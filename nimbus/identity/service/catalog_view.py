"""The service catalog as tokens and `/auth/catalog` present it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nimbus.identity.models import CatalogServiceRow, EndpointRow

_SUBST = re.compile(r"\$\((\w+)\)s|%\((\w+)\)s")


def _substitute(url: str, values: dict[str, str | None]) -> str | None:
    """Fill `$(project_id)s`/`%(tenant_id)s`; None when a needed value is missing."""
    missing = False

    def repl(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1) or match.group(2))
        if value is None:
            missing = True
            return ""
        return value

    result = _SUBST.sub(repl, url)
    return None if missing else result


async def load_catalog(session: AsyncSession) -> list[tuple[CatalogServiceRow, list[EndpointRow]]]:
    services = list((await session.execute(
        select(CatalogServiceRow).where(CatalogServiceRow.enabled.is_(True))
        .order_by(CatalogServiceRow.type))).scalars())
    endpoints = list((await session.execute(
        select(EndpointRow).where(EndpointRow.enabled.is_(True)))).scalars())
    by_service: dict[str, list[EndpointRow]] = {}
    for ep in endpoints:
        by_service.setdefault(ep.service_id, []).append(ep)
    return [(svc, by_service.get(svc.id, [])) for svc in services]


def render_catalog(catalog: list[tuple[CatalogServiceRow, list[EndpointRow]]],
                   user_id: str | None, project_id: str | None) -> list[dict[str, Any]]:
    values: dict[str, str | None] = {"project_id": project_id, "tenant_id": project_id,
                                     "user_id": user_id}
    result = []
    for svc, endpoints in catalog:
        rendered = []
        for ep in endpoints:
            url = _substitute(ep.url, values)
            if url is None:
                continue
            rendered.append({"id": ep.id, "interface": ep.interface, "region_id": ep.region_id,
                             "region": ep.region_id, "url": url})
        result.append({"endpoints": rendered, "id": svc.id, "type": svc.type,
                       "name": svc.name or ""})
    return result
