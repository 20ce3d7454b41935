from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select, text

from nimbus.core import db
from nimbus.core.periodic import Periodic
from nimbus.core.service import MIGRATIONS, DbHeartbeat, ServiceIdentity, ServiceRow, ServiceRunner
from nimbus.core.tasks import TaskGroup


async def test_runner_heartbeats_into_the_services_table_and_runs_periodic_jobs(
        tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 's.sqlite'}")
    await db.migrate(engine, MIGRATIONS, "core")
    factory = db.make_session_factory(engine)
    ran = asyncio.Event()
    failures = 0

    async def job() -> None:
        nonlocal failures
        failures += 1
        if failures == 1:
            raise RuntimeError("a failing run must not end the schedule")
        ran.set()

    runner = ServiceRunner(ServiceIdentity("nimbus-test", host="h1", topic="test"),
                           heartbeat=DbHeartbeat(factory), heartbeat_interval=0.01,
                           periodic=[Periodic("job", job, 0.01, run_immediately=True)])
    await runner.start()
    await asyncio.wait_for(ran.wait(), 5)
    for _ in range(200):
        async with factory() as session:
            row = (await session.execute(select(ServiceRow))).scalar_one_or_none()
        if row is not None and row.report_count >= 2:
            break
        await asyncio.sleep(0.01)
    await runner.stop()
    assert row is not None and row.binary == "nimbus-test" and row.host == "h1"
    assert row.report_count >= 2 and row.last_seen_up is not None
    assert runner.tasks.running == 0
    await engine.dispose()


async def test_task_group_cancels_its_tasks_on_close() -> None:
    group = TaskGroup("t")
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = group.start(forever(), name="forever")
    await started.wait()
    await group.aclose()
    assert task.cancelled() and group.running == 0


async def test_migration_gives_services_registered_before_the_rename_nova_binary_names(
        tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 's.sqlite'}")
    await db.migrate(engine, MIGRATIONS, "core", revision="a4f0fdf85b01")
    async with engine.begin() as conn:
        for binary in ("nimbus-compute", "nimbus-conductor", "nimbus-test"):
            await conn.execute(text(
                "INSERT INTO services (uuid, \"binary\", host, topic, availability_zone, "
                "report_count, disabled, forced_down, created_at) VALUES "
                f"('{binary}-uuid', '{binary}', 'h1', 't', 'nova', 0, 0, 0, CURRENT_TIMESTAMP)"))
    await db.migrate(engine, MIGRATIONS, "core")
    async with engine.connect() as conn:
        binaries = sorted((await conn.execute(text('SELECT "binary" FROM services'))).scalars())
    assert binaries == ["nimbus-test", "nova-compute", "nova-conductor"]
    await engine.dispose()
