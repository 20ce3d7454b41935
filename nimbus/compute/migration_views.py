"""The shapes of migrations in os-migrations and /servers/{id}/migrations, per microversion."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from nimbus.compute.models import MigrationRow
from nimbus.compute.service import migrations
from nimbus.core.http import service_url

Version = tuple[int, int]


def _in_progress_live(row: MigrationRow) -> bool:
    return row.migration_type == migrations.LIVE and row.status in migrations.LIVE_IN_PROGRESS


def _time_text(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def migration(request: Request, row: MigrationRow, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "instance_uuid": row.instance_uuid, "status": row.status,
        "source_compute": row.source_compute, "source_node": row.source_node,
        "dest_compute": row.dest_compute, "dest_node": row.dest_node,
        "dest_host": row.dest_host, "old_instance_type_id": row.old_instance_type_id,
        "new_instance_type_id": row.new_instance_type_id,
        "created_at": _time_text(row.created_at), "updated_at": _time_text(row.updated_at)}
    if version >= (2, 23):
        body["migration_type"] = row.migration_type
        if _in_progress_live(row):
            base = service_url(request)
            path = f"servers/{row.instance_uuid}/migrations/{row.id}"
            body["links"] = [{"rel": "self", "href": f"{base}/v2.1/{path}"},
                             {"rel": "bookmark", "href": f"{base}/{path}"}]
    if version >= (2, 59):
        body["uuid"] = row.uuid
    return body


def server_migration(row: MigrationRow, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id, "server_uuid": row.instance_uuid, "status": row.status,
        "source_compute": row.source_compute, "source_node": row.source_node,
        "dest_compute": row.dest_compute, "dest_node": row.dest_node,
        "dest_host": row.dest_host, "created_at": _time_text(row.created_at),
        "updated_at": _time_text(row.updated_at),
        "memory_total_bytes": row.memory_total, "memory_processed_bytes": row.memory_processed,
        "memory_remaining_bytes": row.memory_remaining, "disk_total_bytes": row.disk_total,
        "disk_processed_bytes": row.disk_processed,
        "disk_remaining_bytes": row.disk_remaining}
    if version >= (2, 59):
        body["uuid"] = row.uuid
    return body
