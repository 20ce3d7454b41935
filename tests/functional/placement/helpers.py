"""Small helpers for placement's functional tests: admin headers at a microversion, providers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from tests.functional.conftest import Cloud

LATEST = "placement 1.39"


class Placement:
    """The placement API at /placement as the admin, at one microversion unless told otherwise."""

    def __init__(self, cloud: Cloud, token: str, version: str = LATEST) -> None:
        self.client = cloud.client
        self.token = token
        self.version = version

    def headers(self, version: str | None = None) -> dict[str, str]:
        return {"X-Auth-Token": self.token, "OpenStack-API-Version": version or self.version}

    async def request(self, method: str, path: str, *, version: str | None = None,
                      **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, f"/placement{path}",
                                         headers=self.headers(version), **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def put(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, json=body, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, json=body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def provider(self, name: str | None = None, *, parent: str | None = None,
                       inventory: dict[str, dict[str, Any]] | None = None,
                       traits: list[str] | None = None,
                       aggregates: list[str] | None = None) -> str:
        """Create a provider (optionally with inventory, traits, aggregates); its uuid."""
        body: dict[str, Any] = {"name": name or f"rp-{uuid.uuid4().hex[:8]}"}
        if parent:
            body["parent_provider_uuid"] = parent
        resp = await self.post("/resource_providers", body)
        assert resp.status_code == 200, resp.text
        rp = resp.json()["uuid"]
        if inventory:
            await self.set_inventory(rp, inventory)
        if traits:
            for trait in traits:
                if trait.startswith("CUSTOM_"):
                    assert (await self.put(f"/traits/{trait}")).status_code in (201, 204)
            gen = (await self.get(f"/resource_providers/{rp}")).json()["generation"]
            resp = await self.put(f"/resource_providers/{rp}/traits",
                                  {"traits": traits, "resource_provider_generation": gen})
            assert resp.status_code == 200, resp.text
        if aggregates:
            gen = (await self.get(f"/resource_providers/{rp}")).json()["generation"]
            resp = await self.put(f"/resource_providers/{rp}/aggregates",
                                  {"aggregates": aggregates, "resource_provider_generation": gen})
            assert resp.status_code == 200, resp.text
        return rp

    async def set_inventory(self, rp: str, inventory: dict[str, dict[str, Any]]) -> dict[str, Any]:
        gen = (await self.get(f"/resource_providers/{rp}")).json()["generation"]
        resp = await self.put(f"/resource_providers/{rp}/inventories",
                              {"resource_provider_generation": gen, "inventories": inventory})
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def claim(self, consumer: str, allocations: dict[str, dict[str, int]], *,
                    generation: int | None = None, project: str = "p1", user: str = "u1",
                    consumer_type: str = "INSTANCE") -> httpx.Response:
        return await self.put(f"/allocations/{consumer}", {
            "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
            "consumer_generation": generation, "project_id": project, "user_id": user,
            "consumer_type": consumer_type})


def error(resp: httpx.Response) -> dict[str, Any]:
    """The one error of a Placement error body."""
    body = resp.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1, body
    found: dict[str, Any] = body["errors"][0]
    assert found["status"] == resp.status_code
    return found


def new_uuid() -> str:
    return str(uuid.uuid4())


# Straight from the tables, past the service: the sum of each inventory's allocations.
_SUMMED = text(
    "SELECT i.provider_id, i.resource_class, i.used, COALESCE((SELECT SUM(a.used)"
    " FROM placement_allocations a WHERE a.provider_id = i.provider_id"
    " AND a.resource_class = i.resource_class), 0) FROM placement_inventories i")


async def usage_drift(cloud: Cloud) -> list[tuple[int, str, int, int]]:
    """Inventories whose kept `used` is not the sum of their allocations (none, rightly)."""
    async with cloud.services.placement.db() as session:
        rows = (await session.execute(_SUMMED)).all()
    assert rows, "no inventories to compare"
    return [(p, rc, used, int(summed)) for p, rc, used, summed in rows if used != summed]
