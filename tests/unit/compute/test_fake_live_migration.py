"""The fake driver's live migration: a force-complete or abort that overtakes the migration
(the API sends it once the migration shows running, maybe before the source began) applies
when it begins instead of being lost."""

from __future__ import annotations

import asyncio

import pytest

from nimbus.compute.virt.driver import GuestSpec, MigrationAborted
from nimbus.compute.virt.fake import FakeDriver, FakeHostConfig

# The copy would run this long unless a command stops it; far longer than the wait below.
COPY_SECONDS = 600.0
UUID = "5c0f2e1a-7b3d-4c9e-8f10-2a6b4d8e9c01"


async def pair(tag: str) -> tuple[FakeDriver, FakeDriver, str]:
    source = FakeDriver(FakeHostConfig(hostname=f"src-{tag}", migrate_delay=COPY_SECONDS))
    dest = FakeDriver(FakeHostConfig(hostname=f"dst-{tag}"))
    guest = GuestSpec(uuid=UUID, name="vm", vcpus=1, memory_mb=128, root_gb=1)
    await source.spawn(guest)
    return source, dest, await dest.prepare_incoming(guest)


async def test_force_complete_before_the_migration_began_completes_it() -> None:
    source, dest, uri = await pair("force")
    await source.live_migration_force_complete(UUID)
    await asyncio.wait_for(source.live_migrate(UUID, uri, block_migration=False), 30)
    assert UUID in dest.guests and UUID not in source.guests


async def test_abort_before_the_migration_began_keeps_the_guest_at_the_source() -> None:
    source, dest, uri = await pair("abort")
    await source.live_migration_abort(UUID)
    with pytest.raises(MigrationAborted):
        await asyncio.wait_for(source.live_migrate(UUID, uri, block_migration=False), 30)
    assert UUID in source.guests and UUID not in dest.guests


async def test_a_command_for_a_guest_that_left_changes_nothing() -> None:
    source, dest, uri = await pair("left")
    await source.live_migration_force_complete(UUID)
    await source.live_migrate(UUID, uri, block_migration=False)
    await source.live_migration_abort(UUID)  # late: the guest is at the destination now
    assert UUID in dest.guests and UUID not in source.guests
