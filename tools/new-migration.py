"""Write a new Alembic revision for one service by comparing its models with a fresh SQLite DB.

    .venv/bin/python tools/new-migration.py identity "add application credentials"
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from nimbus.core import db

MIGRATIONS = {
    "core": ("nimbus.core.service", "nimbus/core/migrations"),
    "identity": ("nimbus.identity.models", "nimbus/identity/migrations"),
    "compute": ("nimbus.compute.models", "nimbus/compute/migrations"),
    "image": ("nimbus.image.models", "nimbus/image/migrations"),
    "placement": ("nimbus.placement.models", "nimbus/placement/migrations"),
    "network": ("nimbus.network.models", "nimbus/network/migrations"),
    "volume": ("nimbus.volume.models", "nimbus/volume/migrations"),
}


async def main(service: str, message: str) -> None:
    module, location = MIGRATIONS[service]
    importlib.import_module(module)
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite+aiosqlite:///{tmp}/gen.sqlite")
        await db.migrate(engine, Path(location), service)
        cfg = db._alembic_config(str(engine.url), Path(location), service)

        def revise(connection: Connection) -> None:
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True)

        async with engine.begin() as conn:
            await conn.run_sync(revise)
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
