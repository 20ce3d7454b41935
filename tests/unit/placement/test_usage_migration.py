"""The revision that makes inventories keep their usage fills it from existing allocations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from nimbus.cmd.apps import PLACEMENT_MIGRATIONS
from nimbus.core import db

BEFORE_USAGE = "7c1e4b2d9a30"


async def test_upgrade_sums_existing_allocations_into_inventories(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite'}")
    await db.migrate(engine, PLACEMENT_MIGRATIONS, "placement", revision=BEFORE_USAGE)
    async with engine.begin() as conn:
        for pid in (1, 2):
            await conn.execute(text(
                "INSERT INTO placement_resource_providers (id, uuid, name, generation, root_id,"
                " created_at, updated_at) VALUES (:id, :uuid, :name, 0, :id, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"), {"id": pid, "uuid": f"rp-{pid}", "name": f"rp-{pid}"})
            for rc in ("VCPU", "MEMORY_MB"):
                await conn.execute(text(
                    "INSERT INTO placement_inventories (provider_id, resource_class, total,"
                    " reserved, min_unit, max_unit, step_size, allocation_ratio, created_at,"
                    " updated_at) VALUES (:pid, :rc, 1000, 0, 1, 1000, 1, 1.0, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"), {"pid": pid, "rc": rc})
        for consumer, vcpus, memory in (("c1", 2, 256), ("c2", 3, 512)):
            await conn.execute(text(
                "INSERT INTO placement_consumers (uuid, project_id, user_id, generation,"
                " created_at, updated_at) VALUES (:c, 'p', 'u', 1, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"), {"c": consumer})
            for rc, used in (("VCPU", vcpus), ("MEMORY_MB", memory)):
                await conn.execute(text(
                    "INSERT INTO placement_allocations (provider_id, consumer_id, resource_class,"
                    " used, created_at) VALUES (1, :c, :rc, :used, CURRENT_TIMESTAMP)"),
                    {"c": consumer, "rc": rc, "used": used})
    await db.migrate(engine, PLACEMENT_MIGRATIONS, "placement")
    async with engine.connect() as conn:
        kept = set((await conn.execute(text(
            "SELECT provider_id, resource_class, used FROM placement_inventories"))).all())
    await engine.dispose()
    assert kept == {(1, "VCPU", 5), (1, "MEMORY_MB", 768), (2, "VCPU", 0), (2, "MEMORY_MB", 0)}
