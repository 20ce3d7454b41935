"""Block storage (Cinder v3) as compute sees it: volumes and the attachments API (3.44).

    volumes = VolumeClient(http, f"{base_url}/volume")
    attachment = await volumes.create_attachment(token, project_id, volume_id, server_uuid)
    info = (await volumes.update_attachment(token, project_id, attachment["id"], connector))
    await volumes.complete_attachment(token, project_id, attachment["id"])
    await volumes.delete_attachment(token, project_id, attachment["id"])

Cinder's errors are mapped once here: 404 becomes `VolumeResourceNotFound`, other 4xx keep their
status and Cinder's message, anything else (or no answer) is 503.
"""

from __future__ import annotations

from typing import Any

import httpx

from nimbus.core import errors
from nimbus.core.clients import answers
from nimbus.core.context import outgoing_request_id_headers

# Attachments with os-complete: a volume stays `attaching` until the host has it.
MICROVERSION = "volume 3.44"


class VolumeResourceNotFound(errors.NotFound):
    template = "{message}"


class VolumeClient:
    """Calls `<endpoint>/v3/<project>/...` with the token it is given (the user's or a
    service's)."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str, *, timeout: float = 30.0) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    async def _call(self, method: str, token: str, project_id: str, path: str, *,
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            resp = await self.http.request(
                method, f"{self.endpoint}/v3/{project_id}/{path}", json=body,
                timeout=self.timeout,
                headers={"X-Auth-Token": token, "OpenStack-API-Version": MICROVERSION,
                         **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The volume service is unreachable.") from exc
        return answers.json_answer(resp, "volume", VolumeResourceNotFound)

    async def get_volume(self, token: str, project_id: str, volume_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self._call("GET", token, project_id,
                                                  f"volumes/{volume_id}"))["volume"]
        return found

    async def create_volume(self, token: str, project_id: str,
                            attrs: dict[str, Any]) -> dict[str, Any]:
        """A new volume (`creating`; the volume service makes it asynchronously)."""
        made: dict[str, Any] = (await self._call("POST", token, project_id, "volumes",
                                                 body={"volume": attrs}))["volume"]
        return made

    async def delete_volume(self, token: str, project_id: str, volume_id: str) -> None:
        """A volume already gone counts as deleted."""
        try:
            await self._call("DELETE", token, project_id, f"volumes/{volume_id}")
        except VolumeResourceNotFound:
            pass

    async def create_attachment(self, token: str, project_id: str, volume_id: str,
                                instance_uuid: str) -> dict[str, Any]:
        """Reserve the volume for the server (no connector yet: the host connects it)."""
        made: dict[str, Any] = (await self._call(
            "POST", token, project_id, "attachments",
            body={"attachment": {"volume_uuid": volume_id, "instance_uuid": instance_uuid}}))[
            "attachment"]
        return made

    async def update_attachment(self, token: str, project_id: str, attachment_id: str,
                                connector: dict[str, Any]) -> dict[str, Any]:
        """Connect the host described by `connector`; the attachment with connection_info."""
        found: dict[str, Any] = (await self._call(
            "PUT", token, project_id, f"attachments/{attachment_id}",
            body={"attachment": {"connector": connector}}))["attachment"]
        return found

    async def complete_attachment(self, token: str, project_id: str, attachment_id: str) -> None:
        await self._call("POST", token, project_id, f"attachments/{attachment_id}/action",
                         body={"os-complete": None})

    async def delete_attachment(self, token: str, project_id: str, attachment_id: str) -> None:
        """An attachment already gone counts as deleted."""
        try:
            await self._call("DELETE", token, project_id, f"attachments/{attachment_id}")
        except VolumeResourceNotFound:
            pass
