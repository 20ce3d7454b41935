"""The RPC methods of moves between hosts (resize, cold and live migration, evacuation),
on the conductor's and the agents' topics; `ConductorAPI.moves` and `ComputeAgentAPI.moves`.

    await conductor.moves.migrate_server(ctx, migration_uuid, host=None)
    uri = await agents.moves.prepare_live_migration(ctx, dest, move)
"""

from __future__ import annotations

from typing import Any

from nimbus.compute.objects import MoveRequest
from nimbus.core.context import RequestContext
from nimbus.core.rpc import RpcClient


class ConductorMovesAPI:
    def __init__(self, client: RpcClient) -> None:
        self.client = client

    # -- from the API: each starts or ends a move whose migration record the API wrote ----

    async def migrate_server(self, ctx: RequestContext, migration_uuid: str,
                             host: str | None) -> None:
        """Resize or cold migration: schedule, then the source stops and sends the guest."""
        await self.client.cast(ctx, "migrate_server", migration_uuid=migration_uuid, host=host)

    async def live_migrate_instance(self, ctx: RequestContext, migration_uuid: str,
                                    host: str | None) -> None:
        await self.client.cast(ctx, "live_migrate_instance", migration_uuid=migration_uuid,
                               host=host)

    async def evacuate_instance(self, ctx: RequestContext, migration_uuid: str,
                                host: str | None) -> None:
        await self.client.cast(ctx, "evacuate_instance", migration_uuid=migration_uuid,
                               host=host)

    async def confirm_resize(self, ctx: RequestContext, migration_uuid: str) -> None:
        await self.client.cast(ctx, "confirm_resize", migration_uuid=migration_uuid)

    async def revert_resize(self, ctx: RequestContext, migration_uuid: str) -> None:
        await self.client.cast(ctx, "revert_resize", migration_uuid=migration_uuid)

    # -- from the agents: each reports one step done (error set when it failed) ------------

    async def move_step_done(self, ctx: RequestContext, migration_uuid: str, step: str, *,
                             power_state: int | None = None, error: str | None = None,
                             aborted: bool = False, source_disk: str = "") -> None:
        """`step` is one of conductor.moves.STEPS; `source_disk` comes with resize_instance."""
        await self.client.call(ctx, "move_step_done", migration_uuid=migration_uuid, step=step,
                               power_state=power_state, error=error, aborted=aborted,
                               source_disk=source_disk)

    async def evacuations_from(self, ctx: RequestContext, host: str) -> list[MoveRequest]:
        """Evacuations off `host` whose source has not cleaned up yet."""
        found: list[dict[str, Any]] = await self.client.call(ctx, "evacuations_from", host=host)
        return [MoveRequest.model_validate(m) for m in found]


class AgentMovesAPI:
    def __init__(self, client: RpcClient) -> None:
        self.client = client

    async def _cast(self, ctx: RequestContext, host: str, method: str, move: MoveRequest) -> None:
        await self.client.prepare(server=host).cast(ctx, method, move=move.model_dump(mode="json"))

    async def resize_instance(self, ctx: RequestContext, host: str, move: MoveRequest) -> None:
        await self._cast(ctx, host, "resize_instance", move)

    async def finish_resize(self, ctx: RequestContext, host: str, move: MoveRequest) -> None:
        await self._cast(ctx, host, "finish_resize", move)

    async def confirm_resize(self, ctx: RequestContext, host: str, move: MoveRequest) -> None:
        await self._cast(ctx, host, "confirm_resize", move)

    async def revert_resize(self, ctx: RequestContext, host: str, move: MoveRequest) -> None:
        await self._cast(ctx, host, "revert_resize", move)

    async def finish_revert_resize(self, ctx: RequestContext, host: str,
                                   move: MoveRequest) -> None:
        await self._cast(ctx, host, "finish_revert_resize", move)

    async def rebuild_evacuated(self, ctx: RequestContext, host: str, move: MoveRequest) -> None:
        await self._cast(ctx, host, "rebuild_evacuated", move)

    async def check_can_live_migrate_source(self, ctx: RequestContext, host: str,
                                            block_migration: bool) -> None:
        """The live-migration pre-check at the source; raises InvalidSharedStorage."""
        await self.client.prepare(server=host).call(ctx, "check_can_live_migrate_source",
                                                    block_migration=block_migration)

    async def prepare_live_migration(self, ctx: RequestContext, host: str,
                                     move: MoveRequest) -> str:
        """The destination gets ready; the URI the source sends the guest to."""
        return str(await self.client.prepare(server=host).call(
            ctx, "prepare_live_migration", move=move.model_dump(mode="json")))

    async def live_migration(self, ctx: RequestContext, host: str, move: MoveRequest,
                             dest_uri: str) -> None:
        await self.client.prepare(server=host).cast(ctx, "live_migration",
                                                    move=move.model_dump(mode="json"),
                                                    dest_uri=dest_uri)

    async def post_live_migration(self, ctx: RequestContext, host: str,
                                  move: MoveRequest) -> int:
        """The destination owns the guest now; its power state."""
        return int(await self.client.prepare(server=host).call(
            ctx, "post_live_migration", move=move.model_dump(mode="json")))

    async def rollback_live_migration(self, ctx: RequestContext, host: str,
                                      move: MoveRequest) -> None:
        await self.client.prepare(server=host).call(ctx, "rollback_live_migration",
                                                    move=move.model_dump(mode="json"))

    async def live_migration_control(self, ctx: RequestContext, host: str, instance_uuid: str,
                                     command: str) -> None:
        """"force_complete" or "abort" a running live migration on its source."""
        await self.client.prepare(server=host).cast(ctx, "live_migration_control",
                                                    instance_uuid=instance_uuid, command=command)
