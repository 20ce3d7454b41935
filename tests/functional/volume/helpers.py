"""Shared steps of volume tests: a cloud with volume hosts, creating and waiting for volumes."""

from __future__ import annotations

import asyncio
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
