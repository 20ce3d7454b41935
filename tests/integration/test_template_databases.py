"""A functional test's database, copied from the template, equals one the migrations built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from nimbus.core import db
from tests.dbs import backends, migrated_database


def _schema(conn: Connection) -> dict[str, Any]:
    """Everything the migrations decide, table by table, and the rows they wrote."""
    inspector = inspect(conn)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": sorted((fk["constrained_columns"], fk["referred_table"],
                                    fk["referred_columns"], sorted(fk["options"].items()))
                                   for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted((i["name"], i["column_names"], i["unique"])
                              for i in inspector.get_indexes(table)),
            "unique": sorted((u["name"], u["column_names"])
                             for u in inspector.get_unique_constraints(table)),
            "rows": sorted(tuple(row) for row in conn.execute(text(f"SELECT * FROM {table}")))
            if table.startswith("alembic_version") else None,
        }
    return schema


async def _schema_of(url: str) -> dict[str, Any]:
    engine = db.make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_schema)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", backends())
async def test_copy_of_template_equals_fresh_migration(backend: str, tmp_path: Path) -> None:
    (tmp_path / "copy").mkdir()
    (tmp_path / "fresh").mkdir()
    async with migrated_database(backend, tmp_path / "copy") as copy_url:
        copied = await _schema_of(copy_url)
    async with migrated_database(backend, tmp_path / "fresh", from_template=False) as fresh_url:
        fresh = await _schema_of(fresh_url)

    assert len(copied) > 50  # every service's tables, not an empty database
    assert copied == fresh
