"""Placement as the scheduler, the conductor and the resource tracker use it (REST, service token).

    placement = PlacementClient(http, f"{base}/placement", tokens.token)
    await placement.ensure_provider(rp_uuid, "node1")
    await placement.set_inventory(rp_uuid, {"VCPU": Inventory(total=8, allocation_ratio=4.0)})
    candidates = await placement.allocation_candidates({"VCPU": 1, "MEMORY_MB": 512})
    claimed = await placement.claim(consumer, rp_uuid, {"VCPU": 1, ...}, project, user)
    await placement.move_allocations(instance_uuid, migration_uuid)   # source keeps nothing
    await placement.change_aggregates(rp_uuid, add=aggregate_uuid)    # host aggregate mirrored
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from nimbus.core import errors
from nimbus.core.context import outgoing_request_id_headers

MICROVERSION = "placement 1.36"
# A provider generation conflict means someone else changed it meanwhile: read again and retry.
_GENERATION_RETRIES = 5


@dataclasses.dataclass(frozen=True)
class Inventory:
    total: int
    reserved: int = 0
    allocation_ratio: float = 1.0
    min_unit: int = 1
    max_unit: int | None = None
    step_size: int = 1

    def body(self) -> dict[str, Any]:
        return {"total": self.total, "reserved": self.reserved,
                "allocation_ratio": self.allocation_ratio, "min_unit": self.min_unit,
                "max_unit": self.max_unit if self.max_unit is not None else self.total,
                "step_size": self.step_size}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A provider that can take the requested resources, with what it has left."""

    provider_uuid: str
    resources: dict[str, int]
    capacity: dict[str, int]
    used: dict[str, int]


class PlacementError(errors.ServiceUnavailable):
    template = "Placement answered {status}: {detail}"


def _provider_race(resp: httpx.Response) -> bool:
    """A 409 worth repeating: generations moved, not a capacity refusal or a known consumer."""
    try:
        error = resp.json()["errors"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return bool(error.get("code") == "placement.concurrent_update"
                and "consumer generation" not in str(error.get("detail", "")))


class PlacementClient:
    def __init__(self, http: httpx.AsyncClient, endpoint: str,
                 token: Callable[[], Awaitable[str]], *, timeout: float = 30.0) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    async def _request(self, method: str, path: str, *, json: Any = None,
                       params: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"X-Auth-Token": await self.token(), "OpenStack-API-Version": MICROVERSION,
                   **outgoing_request_id_headers()}
        try:
            return await self.http.request(method, f"{self.endpoint}{path}", json=json,
                                           params=params, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("Placement is unreachable.") from exc

    @staticmethod
    def _fail(resp: httpx.Response) -> PlacementError:
        return PlacementError(status=resp.status_code, detail=resp.text[:300])

    async def ensure_provider(self, uuid: str, name: str) -> None:
        """Create the resource provider unless it exists. Idempotent."""
        resp = await self._request("GET", f"/resource_providers/{uuid}")
        if resp.status_code == 200:
            return
        resp = await self._request("POST", "/resource_providers", json={"uuid": uuid, "name": name})
        if resp.status_code not in (200, 201, 409):
            raise self._fail(resp)

    async def delete_provider(self, uuid: str) -> None:
        resp = await self._request("DELETE", f"/resource_providers/{uuid}")
        if resp.status_code not in (204, 404):
            raise self._fail(resp)

    async def set_inventory(self, uuid: str, inventories: dict[str, Inventory]) -> None:
        """Replace the provider's inventory, retrying on generation conflicts."""
        for _ in range(_GENERATION_RETRIES):
            current = await self._request("GET", f"/resource_providers/{uuid}/inventories")
            if current.status_code != 200:
                raise self._fail(current)
            body = current.json()
            wanted = {rc: inv.body() for rc, inv in inventories.items()}
            if body.get("inventories") == wanted:
                return
            resp = await self._request("PUT", f"/resource_providers/{uuid}/inventories", json={
                "resource_provider_generation": body["resource_provider_generation"],
                "inventories": wanted})
            if resp.status_code == 200:
                return
            if resp.status_code != 409:
                raise self._fail(resp)
        raise PlacementError(status=409, detail="inventory kept changing")

    async def allocation_candidates(self, resources: dict[str, int], *,
                                    limit: int | None = None) -> list[Candidate]:
        params: dict[str, Any] = {"resources": ",".join(f"{rc}:{n}" for rc, n in resources.items())}
        if limit is not None:
            params["limit"] = limit
        resp = await self._request("GET", "/allocation_candidates", params=params)
        if resp.status_code != 200:
            raise self._fail(resp)
        body = resp.json()
        summaries = body.get("provider_summaries", {})
        found = []
        for request in body.get("allocation_requests", []):
            allocations = request["allocations"]
            if len(allocations) != 1:
                continue  # nested or shared providers: not used by compute here
            uuid, alloc = next(iter(allocations.items()))
            summary = summaries.get(uuid, {}).get("resources", {})
            found.append(Candidate(uuid, dict(alloc["resources"]),
                                   {rc: v["capacity"] for rc, v in summary.items()},
                                   {rc: v["used"] for rc, v in summary.items()}))
        return found

    async def claim(self, consumer: str, provider_uuid: str, resources: dict[str, int],
                    project_id: str, user_id: str) -> bool:
        """Allocate for a new consumer; False when the provider has no room any more (a
        concurrent claim won). Placement checks capacity and generations atomically; a claim
        that kept losing generation races (409 placement.concurrent_update) is sent again."""
        body = {"allocations": {provider_uuid: {"resources": resources}},
                "project_id": project_id, "user_id": user_id, "consumer_generation": None}
        for _ in range(_GENERATION_RETRIES):
            resp = await self._request("PUT", f"/allocations/{consumer}", json=body)
            if resp.status_code == 204:
                return True
            if resp.status_code != 409:
                raise self._fail(resp)
            if not _provider_race(resp):
                return False
        return False

    async def move_allocations(self, source: str, target: str) -> bool:
        """Give everything `source` holds to `target` (which must hold nothing), atomically:
        how a migration record hands an instance's allocations over, or back. False if
        `source` holds nothing; retried while either consumer changes under us."""
        for _ in range(_GENERATION_RETRIES):
            held = await self._request("GET", f"/allocations/{source}")
            if held.status_code != 200:
                raise self._fail(held)
            src = held.json()
            if not src.get("allocations"):
                return False
            dst = await self._request("GET", f"/allocations/{target}")
            if dst.status_code != 200:
                raise self._fail(dst)
            owner = {"project_id": src["project_id"], "user_id": src["user_id"]}
            resp = await self._request("POST", "/allocations", json={
                source: {"allocations": {}, "consumer_generation": src["consumer_generation"],
                         **owner},
                target: {"allocations": {rp: {"resources": a["resources"]}
                                         for rp, a in src["allocations"].items()},
                         "consumer_generation": dst.json().get("consumer_generation"), **owner}})
            if resp.status_code == 204:
                return True
            if resp.status_code != 409 or "concurrent_update" not in resp.text:
                raise self._fail(resp)
        raise PlacementError(status=409, detail="allocations kept changing")

    async def delete_allocations(self, consumer: str) -> None:
        """Give back everything `consumer` holds. Idempotent."""
        resp = await self._request("DELETE", f"/allocations/{consumer}")
        if resp.status_code not in (204, 404):
            raise self._fail(resp)

    async def change_aggregates(self, provider_uuid: str, *, add: str | None = None,
                                remove: str | None = None) -> bool:
        """Put the provider in aggregate `add` and/or out of `remove`, keeping its others;
        retried on generation conflicts. False if the provider does not exist."""
        for _ in range(_GENERATION_RETRIES):
            current = await self._request("GET", f"/resource_providers/{provider_uuid}/aggregates")
            if current.status_code == 404:
                return False
            if current.status_code != 200:
                raise self._fail(current)
            body = current.json()
            had = list(body["aggregates"])
            wanted = [a for a in had if a != remove] + ([add] if add and add not in had else [])
            if wanted == had:
                return True
            resp = await self._request(
                "PUT", f"/resource_providers/{provider_uuid}/aggregates",
                json={"aggregates": wanted,
                      "resource_provider_generation": body["resource_provider_generation"]})
            if resp.status_code == 200:
                return True
            if resp.status_code == 404:
                return False
            if resp.status_code != 409:
                raise self._fail(resp)
        raise PlacementError(status=409, detail="provider aggregates kept changing")

    async def usages(self, provider_uuid: str) -> dict[str, int]:
        resp = await self._request("GET", f"/resource_providers/{provider_uuid}/usages")
        if resp.status_code != 200:
            raise self._fail(resp)
        return dict(resp.json().get("usages", {}))
