"""Compute's part of `nimbus bootstrap`: Nova's usual flavors, created once."""

from __future__ import annotations

from sqlalchemy import select

from nimbus.compute.models import FlavorRow
from nimbus.core import db

# flavorid, name, RAM MiB, disk GiB, vCPUs: DevStack's set, which docs and tutorials assume.
DEFAULT_FLAVORS = [
    ("42", "m1.nano", 128, 1, 1),
    ("84", "m1.micro", 192, 1, 1),
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 20, 1),
    ("3", "m1.medium", 4096, 40, 2),
    ("4", "m1.large", 8192, 80, 4),
    ("5", "m1.xlarge", 16384, 160, 8),
]


async def bootstrap(factory: db.SessionFactory) -> None:
    """Idempotent: flavors that exist by name or id are left as they are."""
    async with db.transaction(factory) as session:
        rows = await session.execute(select(FlavorRow.flavorid, FlavorRow.name))
        taken = {value for row in rows for value in row}
        for flavorid, name, ram, disk, vcpus in DEFAULT_FLAVORS:
            if flavorid not in taken and name not in taken:
                session.add(FlavorRow(flavorid=flavorid, name=name, memory_mb=ram, vcpus=vcpus,
                                      root_gb=disk, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
                                      is_public=True, disabled=False))
