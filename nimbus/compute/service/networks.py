"""The `networks` of a server create, checked against the network service with the caller's
token and resolved to concrete networks and ports before anything is written.

    none (2.37+)    -> no interfaces (before 2.37 `networks` is a list or absent, as in Nova)
    auto (2.37+)    -> the project's one usable network, else its auto-allocated one
    absent (<2.37)  -> the project's one usable network, none if it has none, 409 if several
    [{uuid|port, fixed_ip, tag}] -> those, each network and port checked to exist and be free
"""

from __future__ import annotations

import ipaddress
import re

from nimbus.compute.deps import ComputeDeps
from nimbus.compute.objects import RequestedNetwork
from nimbus.compute.schemas import NetworkRequest
from nimbus.core import errors
from nimbus.core.clients.network import NetworkResourceNotFound
from nimbus.core.context import RequestContext

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class NetworkAmbiguous(errors.Conflict):
    template = ("More than one possible network found. Specify network ID(s) to select which "
                "one(s) to connect to.")


class PortInUse(errors.Conflict):
    template = "Port {port_id} is still in use."


class UnableToAutoAllocateNetwork(errors.BadRequest):
    template = "Unable to automatically allocate a network for project {project_id}"


def _bad_format(reason: str) -> errors.BadRequest:
    return errors.BadRequest(f"Bad networks format: {reason}")


def _syntax(item: NetworkRequest) -> None:
    if item.port is not None:
        if not _UUID.match(item.port):
            raise _bad_format(f"port id is not in proper format ({item.port})")
        if item.fixed_ip is not None:
            raise errors.BadRequest(f"Specified Fixed IP '{item.fixed_ip}' cannot be used with "
                                    f"port '{item.port}': the two cannot be specified together.")
        return
    if item.uuid is None:
        raise _bad_format("network uuid is not in proper format (None)")
    if not _UUID.match(item.uuid):
        raise _bad_format(f"network uuid is not in proper format ({item.uuid})")
    if item.fixed_ip is not None:
        try:
            ipaddress.ip_address(item.fixed_ip)
        except ValueError:
            raise errors.BadRequest(f"Invalid fixed IP address ({item.fixed_ip})") from None


def _takes_tag(version: tuple[int, int]) -> bool:
    """Nova's schemas: tags came at 2.32, left with 2.37's rewrite of `networks` and came
    back at 2.42."""
    return (2, 32) <= version < (2, 37) or version >= (2, 42)


async def _usable(deps: ComputeDeps, ctx: RequestContext) -> list[str]:
    """Nova's available networks: the project's own, then the shared ones."""
    token, project = ctx.auth_token or "", ctx.project_id or ""
    own = await deps.network.list_networks(token, project_id=project, shared="False")
    shared = await deps.network.list_networks(token, shared="True")
    return list(dict.fromkeys([n["id"] for n in own] + [n["id"] for n in shared]))


async def _the_one(deps: ComputeDeps, ctx: RequestContext, *, auto: bool) -> list[RequestedNetwork]:
    usable = await _usable(deps, ctx)
    if len(usable) > 1:
        raise NetworkAmbiguous()
    if usable:
        return [RequestedNetwork(network_id=usable[0])]
    if not auto:
        return []
    try:
        network_id = await deps.network.auto_allocated_network(ctx.auth_token or "",
                                                               ctx.project_id or "")
    except errors.Conflict:
        # Neutron's 409 says this deployment cannot make the topology (no default external
        # network): Nova answers its own 400, the request cannot be served as asked.
        raise UnableToAutoAllocateNetwork(project_id=ctx.project_id or "") from None
    return [RequestedNetwork(network_id=network_id)]


async def resolve(deps: ComputeDeps, ctx: RequestContext,
                  networks: list[NetworkRequest] | str | None, version: tuple[int, int],
                  max_count: int) -> list[RequestedNetwork]:
    if networks is None:
        if version >= (2, 37):
            raise errors.BadRequest("Invalid input for field/attribute networks: "
                                    "'networks' is a required property")
        return await _the_one(deps, ctx, auto=False)
    if isinstance(networks, str):
        if version < (2, 37):
            raise errors.BadRequest(f"Invalid input for field/attribute networks: "
                                    f"{networks!r} is not of type 'array'")
        if networks not in ("none", "auto"):
            raise errors.BadRequest(f"Invalid input for field/attribute networks: "
                                    f"{networks!r} is not valid under any of the given schemas")
        return [] if networks == "none" else await _the_one(deps, ctx, auto=True)
    for item in networks:
        if item.tag is not None and not _takes_tag(version):
            raise errors.BadRequest("Invalid input for field/attribute networks: Additional "
                                    "properties are not allowed ('tag' was unexpected)")
        _syntax(item)
    token = ctx.auth_token or ""
    resolved = []
    for item in networks:
        if item.port is not None:
            if max_count > 1:
                raise errors.BadRequest("Multiple instances cannot be created with the same "
                                        f"port {item.port}.")
            try:
                port = await deps.network.get_port(token, item.port)
            except NetworkResourceNotFound:
                raise errors.BadRequest(f"Port id {item.port} could not be found.") from None
            if port.get("device_id"):
                raise PortInUse(port_id=item.port)
            resolved.append(RequestedNetwork(network_id=port["network_id"], port_id=port["id"],
                                             tag=item.tag))
            continue
        assert item.uuid is not None
        try:
            network = await deps.network.get_network(token, item.uuid)
        except NetworkResourceNotFound:
            raise errors.BadRequest(f"Network {item.uuid} could not be found.") from None
        resolved.append(RequestedNetwork(network_id=network["id"], fixed_ip=item.fixed_ip,
                                         tag=item.tag))
    return resolved
