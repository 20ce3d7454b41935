"""The network service (Neutron v2.0) as compute sees it: networks, ports, floating IPs.

    client = NetworkClient(http, f"{base_url}/network")
    port = await client.create_port(token, {"network_id": net_id, "device_id": uuid})

Neutron's errors are mapped once here: 404 becomes `NetworkResourceNotFound`, other 4xx keep
their status and Neutron's message, anything else (or no answer) is 503.
"""

from __future__ import annotations

from typing import Any

import httpx

from nimbus.core import errors
from nimbus.core.clients import answers
from nimbus.core.context import outgoing_request_id_headers


class NetworkResourceNotFound(errors.NotFound):
    template = "{message}"


class NetworkClient:
    """Calls `<endpoint>/v2.0/...` with the token it is given (the user's or a service's)."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str, *, timeout: float = 30.0) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    async def _call(self, method: str, token: str, path: str, *,
                    params: httpx.QueryParams | dict[str, str] | None = None,
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            resp = await self.http.request(
                method, f"{self.endpoint}/v2.0/{path}", params=params, json=body,
                timeout=self.timeout,
                headers={"X-Auth-Token": token, **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The network service is unreachable.") from exc
        return answers.json_answer(resp, "network", NetworkResourceNotFound)

    async def get_network(self, token: str, network_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self._call("GET", token, f"networks/{network_id}"))["network"]
        return found

    async def list_networks(self, token: str, **filters: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self._call(
            "GET", token, "networks", params=filters))["networks"]
        return found

    async def get_port(self, token: str, port_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self._call("GET", token, f"ports/{port_id}"))["port"]
        return found

    async def list_ports(self, token: str, **filters: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self._call(
            "GET", token, "ports", params=filters))["ports"]
        return found

    async def list_all(self, token: str, collection: str) -> list[dict[str, Any]]:
        """Every item of a collection (`subnets`, `security-groups`, ...) the token may see."""
        key = collection.replace("-", "_")
        found: list[dict[str, Any]] = (await self._call("GET", token, collection))[key]
        return found

    async def create_port(self, token: str, attrs: dict[str, Any]) -> dict[str, Any]:
        made: dict[str, Any] = (await self._call("POST", token, "ports",
                                                 body={"port": attrs}))["port"]
        return made

    async def update_port(self, token: str, port_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        changed: dict[str, Any] = (await self._call("PUT", token, f"ports/{port_id}",
                                                    body={"port": attrs}))["port"]
        return changed

    async def delete_port(self, token: str, port_id: str) -> None:
        """A port already gone counts as deleted."""
        try:
            await self._call("DELETE", token, f"ports/{port_id}")
        except NetworkResourceNotFound:
            pass

    async def floating_ips_of(self, token: str, port_ids: list[str]) -> list[dict[str, Any]]:
        """The floating IPs associated with any of the ports, in one request."""
        query = httpx.QueryParams([("port_id", p) for p in port_ids])
        found: list[dict[str, Any]] = (await self._call(
            "GET", token, "floatingips", params=query))["floatingips"]
        return found

    async def auto_allocated_network(self, token: str, project_id: str) -> str:
        """The project's network from get-me-a-network (made on first use)."""
        topology = (await self._call("GET", token,
                                     f"auto-allocated-topology/{project_id}"))["auto_allocated_topology"]
        return str(topology["id"])
