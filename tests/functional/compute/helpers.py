"""Shared steps of compute tests: the clouds they run on, an image to boot, waiting for a status,
reading a server, the fake hosts' guests, placement usage, quotas and key pairs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from nimbus.compute.virt.fake import FakeDriver
from tests.functional.conftest import Cloud

V = "/compute/v2.1"
HOSTS = 3  # fake hosts of the create-flow cloud (test_servers.py and its followers)
IMAGE_DATA = b"\x00fake disk image\x00" * 64


async def upload_image(cloud: Cloud, headers: dict[str, str], **extra: Any) -> str:
    created = await cloud.client.post("/image/v2/images", headers=headers, json={
        "name": "cirros", "disk_format": "raw", "container_format": "bare",
        "visibility": "public", **extra})
    assert created.status_code == 201, created.text
    image_id: str = created.json()["id"]
    uploaded = await cloud.client.put(f"/image/v2/images/{image_id}/file", content=IMAGE_DATA,
                                      headers={**headers,
                                               "Content-Type": "application/octet-stream"})
    assert uploaded.status_code == 204, uploaded.text
    return image_id


def server_body(image_id: str, name: str = "vm", **extra: Any) -> dict[str, Any]:
    return {"server": {"name": name, "imageRef": image_id, "flavorRef": "1",
                       "networks": "none", **extra}}


async def boot(cloud: Cloud, headers: dict[str, str], image_id: str, **extra: Any) -> str:
    resp = await cloud.client.post(f"{V}/servers", json=server_body(image_id, **extra),
                                   headers={**headers, "OpenStack-API-Version": "compute 2.79"})
    assert resp.status_code == 202, resp.text
    server_id: str = resp.json()["server"]["id"]
    return server_id


async def show(cloud: Cloud, headers: dict[str, str], server_id: str) -> dict[str, Any] | None:
    resp = await cloud.client.get(f"{V}/servers/{server_id}",
                                  headers={**headers, "OpenStack-API-Version": "compute 2.79"})
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    server: dict[str, Any] = resp.json()["server"]
    return server


async def wait_for(cloud: Cloud, headers: dict[str, str], server_id: str, *statuses: str,
                   timeout: float = 30.0) -> dict[str, Any] | None:
    """Poll until the server shows one of `statuses` (DELETED: gone); the last view."""
    deadline = time.monotonic() + timeout
    while True:
        server = await show(cloud, headers, server_id)
        status = server["status"] if server else "DELETED"
        if status in statuses:
            return server
        assert time.monotonic() < deadline, f"{server_id} still {status}, wanted {statuses}"
        await asyncio.sleep(0.02)


def drivers(cloud: Cloud) -> dict[str, FakeDriver]:
    assert cloud.compute is not None
    found = {}
    for host, (agent, _) in cloud.compute.agents.items():
        assert isinstance(agent.driver, FakeDriver)
        found[host] = agent.driver
    return found


async def usage(cloud: Cloud, headers: dict[str, str]) -> dict[str, int]:
    """The whole cloud's VCPU usage per resource provider, from placement."""
    resp = await cloud.client.get("/placement/resource_providers", headers=headers)
    total: dict[str, int] = {}
    for rp in resp.json()["resource_providers"]:
        usages = await cloud.client.get(f"/placement/resource_providers/{rp['uuid']}/usages",
                                        headers=headers)
        total[rp["name"]] = usages.json()["usages"].get("VCPU", 0)
    return total


async def set_quota(cloud: Cloud, project: str, version: str = "2.1", **values: Any) -> Any:
    return await cloud.client.put(f"{V}/os-quota-sets/{project}",
                                  headers={**await cloud.admin_headers(),
                                           "OpenStack-API-Version": f"compute {version}"},
                                  json={"quota_set": values})


def ssh_public_key() -> tuple[str, str]:
    """A fresh OpenSSH public key line and its MD5 fingerprint as ssh-keygen prints it."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    digest = hashlib.md5(base64.b64decode(line.split()[1])).hexdigest()
    return f"{line} me@laptop", ":".join(digest[i:i + 2] for i in range(0, 32, 2))
