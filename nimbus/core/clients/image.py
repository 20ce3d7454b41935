"""The image service as compute sees it: image metadata, and image data streamed to a file."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx

from nimbus.core import errors
from nimbus.core.context import outgoing_request_id_headers

_CHUNK = 1 << 20


class ImageNotFound(errors.NotFound):
    template = "Image {image_id} could not be found."


class ImageUnusable(errors.BadRequest):
    template = "Image {image_id} is not active."


@dataclasses.dataclass(frozen=True)
class Image:
    id: str
    name: str | None
    status: str
    disk_format: str | None
    container_format: str | None
    size: int | None
    min_disk: int
    min_ram: int
    checksum: str | None
    properties: dict[str, Any]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Image:
        known = {"id", "name", "status", "disk_format", "container_format", "size", "min_disk",
                 "min_ram", "checksum"}
        return cls(id=body["id"], name=body.get("name"), status=body.get("status", ""),
                   disk_format=body.get("disk_format"),
                   container_format=body.get("container_format"), size=body.get("size"),
                   min_disk=int(body.get("min_disk") or 0), min_ram=int(body.get("min_ram") or 0),
                   checksum=body.get("checksum"),
                   properties={k: v for k, v in body.items() if k not in known})


class ImageClient:
    """Calls `<endpoint>/v2/...` with the token it is given (the user's or a service's)."""

    def __init__(self, http: httpx.AsyncClient, endpoint: str, *, timeout: float = 30.0) -> None:
        self.http = http
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    async def get_image(self, token: str, image_id: str) -> Image:
        try:
            resp = await self.http.get(f"{self.endpoint}/v2/images/{image_id}", timeout=self.timeout,
                                       headers={"X-Auth-Token": token, **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The image service is unreachable.") from exc
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code != 200:
            raise errors.ServiceUnavailable(f"The image service answered {resp.status_code}.")
        return Image.from_body(resp.json())

    async def download(self, token: str, image: Image, dest: Path) -> None:
        """Stream the image's data to `dest` (written beside, renamed when complete), checking
        the md5 checksum the image service recorded; nothing is left at `dest` on failure."""
        partial = dest.with_name(f".{dest.name}.part")
        digest = hashlib.md5(usedforsecurity=False)
        try:
            async with self.http.stream("GET", f"{self.endpoint}/v2/images/{image.id}/file",
                                        headers={"X-Auth-Token": token, **outgoing_request_id_headers()},
                                        timeout=self.timeout) as resp:
                if resp.status_code == 404:
                    raise ImageNotFound(image_id=image.id)
                if resp.status_code != 200:
                    raise ImageUnusable(image_id=image.id)
                with partial.open("wb") as out:
                    async for chunk in resp.aiter_bytes(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            if image.checksum and digest.hexdigest() != image.checksum:
                raise errors.ServiceUnavailable(
                    f"Image {image.id} arrived corrupted (checksum mismatch).")
            os.replace(partial, dest)
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The image download was interrupted.") from exc
        finally:
            partial.unlink(missing_ok=True)

    async def create_image(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """A new image record (queued, no data yet); the image service's 4xx pass through."""
        try:
            resp = await self.http.post(f"{self.endpoint}/v2/images", json=body,
                                        timeout=self.timeout,
                                        headers={"X-Auth-Token": token,
                                                 **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The image service is unreachable.") from exc
        if resp.status_code != 201:
            message = resp.text.strip().splitlines()[-1] if resp.text.strip() else ""
            raise errors.error_for_status(resp.status_code if resp.status_code < 500 else 503,
                                          f"The image service refused the image: {message}")
        created: dict[str, Any] = resp.json()
        return created

    async def upload(self, token: str, image_id: str, source: Path) -> None:
        """Stream the file at `source` as the image's data."""

        async def chunks() -> Any:
            with source.open("rb") as data:
                while block := data.read(_CHUNK):
                    yield block

        try:
            resp = await self.http.put(f"{self.endpoint}/v2/images/{image_id}/file",
                                       content=chunks(), timeout=self.timeout,
                                       headers={"X-Auth-Token": token,
                                                "Content-Type": "application/octet-stream",
                                                **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The image upload was interrupted.") from exc
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code != 204:
            raise errors.ServiceUnavailable(f"The image service answered {resp.status_code} "
                                            "to the upload.")

    async def list_images(self, token: str, **filters: str) -> list[Image]:
        """Images matching `filters` (Glance's property filters), newest first; one page of
        up to 1000, enough for the backups of one server that createBackup rotates."""
        try:
            resp = await self.http.get(f"{self.endpoint}/v2/images", timeout=self.timeout,
                                       params={**filters, "sort": "created_at:desc",
                                               "limit": "1000"},
                                       headers={"X-Auth-Token": token,
                                                **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The image service is unreachable.") from exc
        if resp.status_code != 200:
            raise errors.ServiceUnavailable(f"The image service answered {resp.status_code}.")
        return [Image.from_body(body) for body in resp.json()["images"]]

    async def delete_image(self, token: str, image_id: str) -> None:
        """Best effort: a missing image is already deleted."""
        try:
            await self.http.delete(f"{self.endpoint}/v2/images/{image_id}", timeout=self.timeout,
                                   headers={"X-Auth-Token": token,
                                            **outgoing_request_id_headers()})
        except httpx.HTTPError as exc:
            raise errors.ServiceUnavailable("The image service is unreachable.") from exc
