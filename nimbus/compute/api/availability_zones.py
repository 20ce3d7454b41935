"""`/os-availability-zone` (anyone) and `/os-availability-zone/detail` (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nimbus.compute import views
from nimbus.compute.deps import Deps
from nimbus.compute.service import availability_zones
from nimbus.core.http import Ctx

router = APIRouter(prefix="/v2.1/os-availability-zone")


@router.get("")
async def list_zones(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return views.availability_zones(await availability_zones.list_zones(deps, ctx))


@router.get("/detail")
async def list_zones_detail(deps: Deps, ctx: Ctx) -> dict[str, Any]:
    return views.availability_zones(await availability_zones.list_zones_detail(deps, ctx))
