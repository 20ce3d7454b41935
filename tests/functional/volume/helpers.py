"""Shared steps of volume tests: a cloud with volume hosts, creating and waiting for volumes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.functional.conftest import Cloud

MV = {"OpenStack-API-Version": "volume 3.60"}


async def project_id(cloud: Cloud, headers: dict[str, str]) -> str:
    resp = await cloud.client.get("/identity/v3/auth/tokens",
                                  headers={**headers, "X-Subject-Token": headers["X-Auth-Token"]})
    assert resp.status_code == 200, resp.text
    found: str = resp.json()["token"]["project"]["id"]
    return found


async def base(cloud: Cloud, headers: dict[str, str]) -> str:
    return f"/volume/v3/{await project_id(cloud, headers)}"


async def create_volume(cloud: Cloud, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = await cloud.client.post(f"{await base(cloud, headers)}/volumes",
                                   json={"volume": {"size": 1, **body}}, headers=headers)
    assert resp.status_code == 202, resp.text
    volume: dict[str, Any] = resp.json()["volume"]
    return volume


async def show(cloud: Cloud, headers: dict[str, str], kind: str,
               item_id: str) -> dict[str, Any] | None:
    resp = await cloud.client.get(f"{await base(cloud, headers)}/{kind}s/{item_id}",
                                  headers={**headers, **MV})
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()[kind]
    return found


async def wait_for(cloud: Cloud, headers: dict[str, str], item_id: str, *statuses: str,
                   kind: str = "volume", timeout: float = 30.0) -> dict[str, Any] | None:
    """Poll until the volume (or snapshot) shows one of `statuses` (DELETED: gone)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await show(cloud, headers, kind, item_id)
        status = found["status"] if found else "DELETED"
        if status in statuses:
            return found
        assert time.monotonic() < deadline, f"{kind} {item_id} still {status}, wanted {statuses}"
        await asyncio.sleep(0.02)


def files(cloud: Cloud) -> set[str]:
    """Every volume and snapshot file on every volume host, scratch files included."""
    assert cloud.volume is not None
    found: set[str] = set()
    for manager, _ in cloud.volume.managers.values():
        root = getattr(manager.backend, "root", None)
        assert isinstance(root, Path)
        found |= {p.name for p in root.iterdir()}
    return found


async def action(cloud: Cloud, headers: dict[str, str], volume_id: str, name: str,
                 body: Any = None, version: str = "3.60") -> Any:
    """POST one volume action; the response (status checked by the caller)."""
    return await cloud.client.post(
        f"{await base(cloud, headers)}/volumes/{volume_id}/action", json={name: body},
        headers={**headers, "OpenStack-API-Version": f"volume {version}"})


async def available_volume(cloud: Cloud, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    created = await create_volume(cloud, headers, **body)
    volume = await wait_for(cloud, headers, created["id"], "available", "error")
    assert volume is not None and volume["status"] == "available", volume
    return volume


async def upload_image(cloud: Cloud, headers: dict[str, str], data: bytes, disk_format: str,
                       **extra: Any) -> str:
    created = await cloud.client.post("/image/v2/images", headers=headers, json={
        "name": "img", "disk_format": disk_format, "container_format": "bare", **extra})
    assert created.status_code == 201, created.text
    image_id: str = created.json()["id"]
    uploaded = await cloud.client.put(f"/image/v2/images/{image_id}/file", content=data,
                                      headers={**headers,
                                               "Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image_id


def volume_file(cloud: Cloud, volume_id: str) -> Path:
    """Where a file backend keeps the volume, on whichever host has it."""
    assert cloud.volume is not None
    for manager, _ in cloud.volume.managers.values():
        root = getattr(manager.backend, "root", None)
        assert isinstance(root, Path)
        if (root / f"volume-{volume_id}.qcow2").exists():
            return root / f"volume-{volume_id}.qcow2"
    raise AssertionError(f"no file for volume {volume_id}")


def virtual_size(path: Path) -> int:
    out = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True,
                         capture_output=True, text=True).stdout
    size: int = json.loads(out)["virtual-size"]
    return size
