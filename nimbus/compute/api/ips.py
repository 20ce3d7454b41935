"""`/servers/{id}/ips` and `/servers/{id}/ips/{network_label}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nimbus.compute.deps import Deps
from nimbus.compute.service import ips
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/servers/{server_id}/ips")


@router.get("")
async def list_addresses(server_id: str, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return {"addresses": await ips.get_addresses(deps, ctx, server_id)}


@router.get("/{network}")
async def show_network_addresses(server_id: str, network: str, deps: Deps,
                                 ctx: Ctx) -> dict[str, Any]:
    return {network: await ips.get_network(deps, ctx, server_id, network)}
