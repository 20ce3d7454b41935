"""Version discovery (`/`, public), the v2.0 resource index, and `/v2.0/extensions`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from nimbus.core.http import Ctx, service_url
from nimbus.network import errors
from nimbus.network.extensions import BY_ALIAS, EXTENSIONS, Extension

router = APIRouter()

# The collections at the v2.0 root, as Neutron's index lists its core resources.
_CORE = (("subnet", "subnets"), ("network", "networks"), ("port", "ports"))


@router.get("/")
async def list_versions(request: Request) -> dict[str, Any]:
    return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{service_url(request)}/v2.0/"}]}]}


@router.get("/v2.0")
@router.get("/v2.0/")
async def show_v2(request: Request, ctx: Ctx) -> dict[str, Any]:
    base = f"{service_url(request)}/v2.0"
    return {"resources": [{"name": name, "collection": collection, "links": [
        {"rel": "self", "href": f"{base}/{collection}"}]} for name, collection in _CORE]}


def _extension(ext: Extension) -> dict[str, Any]:
    return {"alias": ext.alias, "name": ext.name, "description": ext.description,
            "updated": ext.updated, "links": []}


@router.get("/v2.0/extensions")
async def list_extensions(ctx: Ctx) -> dict[str, Any]:
    return {"extensions": [_extension(ext) for ext in EXTENSIONS]}


@router.get("/v2.0/extensions/{alias}")
async def show_extension(alias: str, ctx: Ctx) -> dict[str, Any]:
    if alias not in BY_ALIAS:
        raise errors.ExtensionNotFound(alias=alias)
    return {"extension": _extension(BY_ALIAS[alias])}
