"""`os-interface`: a server's ports as Nova shows them; attach and detach through its agent."""

from __future__ import annotations

from typing import Any

from nimbus.compute import errors
from nimbus.compute.deps import ComputeDeps
from nimbus.compute.models import InstanceRow
from nimbus.compute.objects import RequestedNetwork
from nimbus.compute.schemas import InterfaceAttachment, NetworkRequest
from nimbus.compute.service import networks
from nimbus.compute.service.servers import authorized_row
from nimbus.compute.states import VmState
from nimbus.core import errors as core_errors
from nimbus.core.context import RequestContext

_ATTACHABLE = (VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED)


class PortNotFound(core_errors.NotFound):
    template = "Port id {port_id} could not be found."


def view(port: dict[str, Any], tag: str | None, version: tuple[int, int]) -> dict[str, Any]:
    body = {"net_id": port["network_id"], "port_id": port["id"], "mac_addr": port["mac_address"],
            "port_state": port["status"],
            "fixed_ips": [{"subnet_id": f["subnet_id"], "ip_address": f["ip_address"]}
                          for f in port.get("fixed_ips", [])]}
    if version >= (2, 70):
        body["tag"] = tag
    return body


async def _row(deps: ComputeDeps, ctx: RequestContext, server_id: str, rule: str) -> InstanceRow:
    return await authorized_row(deps, ctx, server_id, f"os_compute_api:os-attach-interfaces:{rule}")


def _tags(row: InstanceRow) -> dict[str, str | None]:
    return {e["port_id"]: e.get("tag") for e in row.network_info or []}


async def list_interfaces(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                          version: tuple[int, int]) -> list[dict[str, Any]]:
    row = await _row(deps, ctx, server_id, "list")
    tags = _tags(row)
    ports = await deps.network.list_ports(ctx.auth_token or "", device_id=row.uuid)
    return [view(p, tags.get(p["id"]), version) for p in ports]


async def show_interface(deps: ComputeDeps, ctx: RequestContext, server_id: str, port_id: str,
                         version: tuple[int, int]) -> dict[str, Any]:
    row = await _row(deps, ctx, server_id, "show")
    tags = _tags(row)
    if port_id not in tags:
        raise PortNotFound(port_id=port_id)
    port = await deps.network.get_port(ctx.auth_token or "", port_id)
    return view(port, tags[port_id], version)


def _check_state(row: InstanceRow, action: str) -> str:
    if row.locked:
        raise errors.InstanceLocked(server_id=row.uuid)
    if row.task_state is not None:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="task_state",
                                          state=row.task_state)
    if row.vm_state not in _ATTACHABLE or row.host is None:
        raise errors.InstanceInvalidState(action=action, server_id=row.uuid, attr="vm_state",
                                          state=row.vm_state)
    return row.host


async def _requested(deps: ComputeDeps, ctx: RequestContext,
                     body: InterfaceAttachment) -> RequestedNetwork:
    if body.net_id and body.port_id:
        raise core_errors.BadRequest("Must not input both network_id and port_id")
    if body.fixed_ips and not body.net_id:
        raise core_errors.BadRequest("Must input network_id when request IP address")
    if body.net_id or body.port_id:
        item = NetworkRequest(uuid=body.net_id, port=body.port_id, tag=body.tag,
                              fixed_ip=body.fixed_ips[0].ip_address if body.fixed_ips else None)
        try:
            [wanted] = await networks.resolve(deps, ctx, [item], (2, 1), 1)
        except core_errors.BadRequest as exc:
            # Nova's attach answers a missing network or port with 404, a malformed one 400.
            if "could not be found" in exc.message:
                raise core_errors.NotFound(exc.message) from None
            raise
        return wanted
    try:
        found = await networks.resolve(deps, ctx, None, (2, 1), 1)
    except networks.NetworkAmbiguous as exc:
        raise core_errors.BadRequest(exc.message) from None
    if not found:
        raise core_errors.BadRequest("No specific network was requested and none are available "
                                     f"for project '{ctx.project_id}'.")
    return found[0].model_copy(update={"tag": body.tag})


async def attach_interface(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                           body: InterfaceAttachment, version: tuple[int, int]) -> dict[str, Any]:
    row = await _row(deps, ctx, server_id, "create")
    if body.tag is not None and version < (2, 49):
        raise core_errors.BadRequest("Additional properties are not allowed ('tag' was "
                                     "unexpected)")
    host = _check_state(row, "attach_interface")
    wanted = await _requested(deps, ctx, body)
    entry = await deps.agents.attach_interface(ctx, host, row.uuid, row.project_id,
                                               row.availability_zone, wanted)
    port = await deps.network.get_port(ctx.auth_token or "", entry["port_id"])
    return view(port, entry.get("tag"), version)


async def detach_interface(deps: ComputeDeps, ctx: RequestContext, server_id: str,
                           port_id: str) -> None:
    row = await _row(deps, ctx, server_id, "delete")
    host = _check_state(row, "detach_interface")
    if port_id not in _tags(row):
        raise PortNotFound(port_id=port_id)
    await deps.agents.detach_interface(ctx, host, row.uuid, port_id)
