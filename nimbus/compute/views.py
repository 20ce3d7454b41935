"""Compute's response shapes, by microversion (Nova's view builders as data)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from nimbus.compute.service.flavors import Flavor
from nimbus.compute.service.keypairs import Keypair
from nimbus.core.http import service_url

Version = tuple[int, int]


def _links(request: Request, collection: str, ident: str) -> list[dict[str, str]]:
    base = service_url(request)
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]


def next_link(request: Request, collection: str, items: list[Any], limit: int | None,
              marker: str) -> list[dict[str, str]]:
    """Nova adds a `next` link only when a page came back full."""
    if limit is None or len(items) < limit or not items:
        return []
    params = dict(request.query_params)
    params["marker"] = marker
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return [{"rel": "next", "href": f"{service_url(request)}/v2.1/{collection}?{query}"}]


def flavor_brief(request: Request, flavor: Flavor, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                            "links": _links(request, "flavors", flavor.flavorid)}
    if version >= (2, 55):
        body["description"] = flavor.description
    return body


def flavor_detail(request: Request, flavor: Flavor, version: Version) -> dict[str, Any]:
    body = flavor_brief(request, flavor, version)
    body.update({
        "ram": flavor.memory_mb, "vcpus": flavor.vcpus, "disk": flavor.root_gb,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        # Nova showed "no swap" as an empty string until 2.75.
        "swap": flavor.swap if flavor.swap or version >= (2, 75) else "",
        "rxtx_factor": flavor.rxtx_factor,
        "os-flavor-access:is_public": flavor.is_public,
    })
    if version >= (2, 61):
        body["extra_specs"] = flavor.extra_specs
    return body


def flavor_access(flavorid: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavorid, "tenant_id": p} for p in projects]}


def keypair_created(keypair: Keypair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint, "user_id": keypair.user_id}
    if keypair.private_key is not None:
        body["private_key"] = keypair.private_key
    if version >= (2, 2):
        body["type"] = keypair.type
    return {"keypair": body}


def keypair_listed(keypair: Keypair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint}
    if version >= (2, 2):
        body["type"] = keypair.type
    return {"keypair": body}


def keypair_shown(keypair: Keypair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": keypair.name, "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint, "user_id": keypair.user_id, "id": keypair.id,
        "created_at": keypair.created_at.isoformat(), "deleted": False, "deleted_at": None,
        "updated_at": None}
    if version >= (2, 2):
        body["type"] = keypair.type
    return {"keypair": body}
