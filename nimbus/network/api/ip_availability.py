"""`/v2.0/network-ip-availabilities`: list and show."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nimbus.core.http import Ctx
from nimbus.network import views
from nimbus.network.api.common import list_reply
from nimbus.network.deps import Deps
from nimbus.network.service import ip_availability

router = APIRouter(prefix="/v2.0/network-ip-availabilities")


@router.get("")
async def list_availabilities(request: Request, deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return await list_reply(request, deps, ctx, "network_ip_availability",
                            ip_availability.list_availabilities,
                            collection="network_ip_availabilities", id_key="network_id")


@router.get("/{network_id}")
async def show_availability(network_id: str, request: Request, deps: Deps,
                            ctx: Ctx) -> dict[str, Any]:
    found = await ip_availability.get_availability(deps, ctx, network_id)
    fields = views.fields_of(list(request.query_params.multi_items()))
    return {"network_ip_availability": views.shape(deps, ctx, "network_ip_availability", found,
                                                   fields)}
