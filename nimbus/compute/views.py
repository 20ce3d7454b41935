"""Compute's response shapes, by microversion (Nova's view builders as data)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import Request

from nimbus.compute.service import disk_config, ips, quotas
from nimbus.compute.service.aggregates import Aggregate
from nimbus.compute.service.availability_zones import Zone
from nimbus.compute.service.compute_services import Service
from nimbus.compute.service.flavors import Flavor
from nimbus.compute.service.hypervisors import Hypervisor
from nimbus.compute.service.instance_actions import Action
from nimbus.compute.service.keypairs import Keypair
from nimbus.compute.service.quota_sets import QuotaSet
from nimbus.compute.service.server_groups import Group
from nimbus.compute.service.servers import Server, host_id
from nimbus.compute.states import VmState, api_status
from nimbus.core.http import service_url

Version = tuple[int, int]


def _links(request: Request, collection: str, ident: str) -> list[dict[str, str]]:
    base = service_url(request)
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]


def next_link(request: Request, collection: str, items: list[Any], limit: int | None,
              marker: str) -> list[dict[str, str]]:
    """Nova adds a `next` link only when a page came back full."""
    if limit is None or len(items) < limit or not items:
        return []
    # Every filter as given, repeated ones too (`status=ACTIVE&status=ERROR`), encoded.
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    query = urlencode([*params, ("marker", marker)])
    return [{"rel": "next", "href": f"{service_url(request)}/v2.1/{collection}?{query}"}]


def flavor_brief(request: Request, flavor: Flavor, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                            "links": _links(request, "flavors", flavor.flavorid)}
    if version >= (2, 55):
        body["description"] = flavor.description
    return body


def flavor_detail(request: Request, flavor: Flavor, version: Version) -> dict[str, Any]:
    body = flavor_brief(request, flavor, version)
    body.update({
        "ram": flavor.memory_mb, "vcpus": flavor.vcpus, "disk": flavor.root_gb,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        # Nova showed "no swap" as an empty string until 2.75.
        "swap": flavor.swap if flavor.swap or version >= (2, 75) else "",
        "rxtx_factor": flavor.rxtx_factor,
        "os-flavor-access:is_public": flavor.is_public,
    })
    if version >= (2, 61):
        body["extra_specs"] = flavor.extra_specs
    return body


def flavor_access(flavorid: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavorid, "tenant_id": p} for p in projects]}


def keypair_created(keypair: Keypair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint, "user_id": keypair.user_id}
    if keypair.private_key is not None:
        body["private_key"] = keypair.private_key
    if version >= (2, 2):
        body["type"] = keypair.type
    return {"keypair": body}


def keypair_listed(keypair: Keypair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint}
    if version >= (2, 2):
        body["type"] = keypair.type
    return {"keypair": body}


def keypair_shown(keypair: Keypair, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": keypair.name, "public_key": keypair.public_key,
        "fingerprint": keypair.fingerprint, "user_id": keypair.user_id, "id": keypair.id,
        "created_at": keypair.created_at.isoformat(), "deleted": False, "deleted_at": None,
        "updated_at": None}
    if version >= (2, 2):
        body["type"] = keypair.type
    return {"keypair": body}


# -- servers -------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _microseconds(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def server_links(request: Request, server_id: str) -> list[dict[str, str]]:
    return _links(request, "servers", server_id)


def server_brief(request: Request, uuid: str, name: str) -> dict[str, Any]:
    return {"id": uuid, "name": name, "links": server_links(request, uuid)}


def _flavor(request: Request, flavor: dict[str, Any], version: Version) -> dict[str, Any]:
    if version < (2, 47):
        return {"id": flavor["flavorid"], "links": [
            {"rel": "bookmark", "href": f"{service_url(request)}/flavors/{flavor['flavorid']}"}]}
    return {"vcpus": flavor["vcpus"], "ram": flavor["memory_mb"], "disk": flavor["root_gb"],
            "ephemeral": flavor.get("ephemeral_gb", 0), "swap": flavor.get("swap", 0),
            "original_name": flavor["name"], "extra_specs": flavor.get("extra_specs", {})}


def _fault(server: Server, is_admin: bool) -> dict[str, Any] | None:
    fault = server.fault
    if fault is None or server.row.vm_state not in (VmState.ERROR, VmState.DELETED):
        return None
    body: dict[str, Any] = {"code": fault.code, "created": _iso(fault.created),
                            "message": fault.message}
    # Nova shows details of a 500 fault (a traceback) to admins only.
    if fault.details and (is_admin or fault.code != 500):
        body["details"] = fault.details
    return body


# Which attributes a server body carries depends on the call, as in Nova: PUT /servers/{id}
# answered a short body until 2.75, and the detail list never shows server_groups.
ServerView = Literal["show", "detail", "update"]


def server_detail(request: Request, server: Server, version: Version, *, is_admin: bool,
                  host_status: str | None = None, view: ServerView = "show") -> dict[str, Any]:
    row = server.row
    status = api_status(row.vm_state, row.task_state)
    body: dict[str, Any] = {
        "id": row.uuid, "name": row.display_name, "status": status,
        "tenant_id": row.project_id, "user_id": row.user_id, "metadata": server.metadata,
        "hostId": host_id(row.project_id, row.host),
        "image": {"id": row.image_ref, "links": [
            {"rel": "bookmark", "href": f"{service_url(request)}/images/{row.image_ref}"}]}
        if row.image_ref else "",
        "flavor": _flavor(request, row.flavor, version),
        "created": _iso(row.created_at), "updated": _iso(row.updated_at),
        "addresses": ips.addresses(row, server.floating),
        "accessIPv4": row.access_ip_v4 or "", "accessIPv6": row.access_ip_v6 or "",
        "links": server_links(request, row.uuid),
        "OS-DCF:diskConfig": disk_config.api_value(row.system_metadata),
    }
    if view != "update" or version >= (2, 75):
        body.update(_extended(server, version))
        if is_admin:
            body.update(_extended_admin(server, version))
        if version >= (2, 16) and host_status is not None:
            body["host_status"] = host_status
    if status in ("BUILD", "ACTIVE"):
        body["progress"] = row.progress if status == "BUILD" else 100
    fault = _fault(server, is_admin)
    if fault is not None:
        body["fault"] = fault
    if version >= (2, 9):
        body["locked"] = row.locked
    if version >= (2, 19):
        body["description"] = row.display_description
    if version >= (2, 26):
        body["tags"] = server.tags
    if version >= (2, 63):
        body["trusted_image_certificates"] = None
    if version >= (2, 71) and view != "detail":
        body["server_groups"] = server.group_uuids
    if version >= (2, 73):
        body["locked_reason"] = row.locked_reason
    return body


def _extended(server: Server, version: Version) -> dict[str, Any]:
    """The v2.0 extensions' attributes (availability zone, usage, states, volumes)."""
    row = server.row
    return {
        "OS-EXT-AZ:availability_zone": row.availability_zone or "",
        "config_drive": row.config_drive, "key_name": row.key_name,
        "OS-SRV-USG:launched_at": _microseconds(row.launched_at),
        "OS-SRV-USG:terminated_at": _microseconds(row.terminated_at),
        "OS-EXT-STS:task_state": row.task_state, "OS-EXT-STS:vm_state": row.vm_state,
        "OS-EXT-STS:power_state": row.power_state,
        "os-extended-volumes:volumes_attached": [
            {"id": v, "delete_on_termination": d} if version >= (2, 3) else {"id": v}
            for v, d in server.volumes],
    }


def _extended_admin(server: Server, version: Version) -> dict[str, Any]:
    row = server.row
    attrs: dict[str, Any] = {"OS-EXT-SRV-ATTR:host": row.host,
                             "OS-EXT-SRV-ATTR:hypervisor_hostname": row.node,
                             "OS-EXT-SRV-ATTR:instance_name": f"instance-{row.uuid[:8]}"}
    if version >= (2, 3):
        attrs.update({"OS-EXT-SRV-ATTR:hostname": row.hostname,
                      "OS-EXT-SRV-ATTR:reservation_id": row.reservation_id,
                      "OS-EXT-SRV-ATTR:launch_index": row.launch_index,
                      "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                      "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                      "OS-EXT-SRV-ATTR:user_data": row.user_data})
    return attrs


def server_created(request: Request, server: Server, admin_pass: str) -> dict[str, Any]:
    return {"server": {"id": server.row.uuid, "links": server_links(request, server.row.uuid),
                       "OS-DCF:diskConfig": disk_config.api_value(server.row.system_metadata),
                       "security_groups": [{"name": "default"}], "adminPass": admin_pass}}


# -- instance actions ----------------------------------------------------------------------


def instance_action(action: Action, version: Version) -> dict[str, Any]:
    row = action.row
    body: dict[str, Any] = {"action": row.action, "instance_uuid": row.instance_uuid,
                            "message": row.message, "project_id": row.project_id,
                            "request_id": row.request_id, "start_time": _microseconds(row.start_time),
                            "user_id": row.user_id}
    if version >= (2, 58):
        body["updated_at"] = _microseconds(row.updated_at)
    return body


def instance_action_with_events(action: Action, version: Version, *, is_admin: bool,
                                project_id: str) -> dict[str, Any]:
    body = instance_action(action, version)
    # Before 2.51 only admins saw events; tracebacks and hosts stay admin-only.
    if not is_admin and version < (2, 51):
        return body
    events = []
    for event in action.events:
        item: dict[str, Any] = {"event": event.event, "start_time": _microseconds(event.start_time),
                                "finish_time": _microseconds(event.finish_time),
                                "result": event.result}
        if is_admin:
            item["traceback"] = event.traceback
        if version >= (2, 62):
            item["hostId"] = host_id(project_id, event.host)
            if is_admin:
                item["host"] = event.host or ""
        events.append(item)
    body["events"] = events
    return body


# -- os-services, os-hypervisors, os-availability-zone --------------------------------------


def _service_time(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def service(svc: Service, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": svc.uuid if version >= (2, 53) else svc.id, "binary": svc.binary,
        "host": svc.host, "zone": svc.zone, "status": "disabled" if svc.disabled else "enabled",
        "state": "up" if svc.up else "down", "updated_at": _service_time(svc.updated_at),
        "disabled_reason": svc.disabled_reason}
    if version >= (2, 11):
        body["forced_down"] = svc.forced_down
    return body


def service_action(host: str, binary: str, **fields: Any) -> dict[str, Any]:
    """What the pre-2.53 enable, disable, disable-log-reason and force-down answer."""
    return {"service": {"host": host, "binary": binary, **fields}}


def hypervisor(hyp: Hypervisor, version: Version, *, detail: bool,
               with_servers: bool = False) -> dict[str, Any]:
    by_uuid = version >= (2, 53)
    body: dict[str, Any] = {
        "id": hyp.uuid if by_uuid else hyp.id, "hypervisor_hostname": hyp.hostname,
        "state": "up" if hyp.service.up else "down",
        "status": "disabled" if hyp.service.disabled else "enabled"}
    if detail:
        body.update({
            "hypervisor_type": hyp.hypervisor_type, "hypervisor_version": hyp.hypervisor_version,
            "host_ip": hyp.host_ip,
            "service": {"id": hyp.service.uuid if by_uuid else hyp.service.id, "host": hyp.host,
                        "disabled_reason": hyp.service.disabled_reason},
            # 2.88 drops these; our newest is 2.79, so they are always there.
            "vcpus": hyp.vcpus, "memory_mb": hyp.memory_mb, "local_gb": hyp.local_gb,
            "vcpus_used": hyp.vcpus_used, "memory_mb_used": hyp.memory_mb_used,
            "local_gb_used": hyp.local_gb_used, "free_ram_mb": hyp.free_ram_mb,
            "free_disk_gb": hyp.free_disk_gb, "current_workload": hyp.current_workload,
            "running_vms": hyp.running_vms, "disk_available_least": hyp.free_disk_gb})
        if version >= (2, 28):
            try:
                body["cpu_info"] = orjson.loads(hyp.cpu_info) if hyp.cpu_info else {}
            except orjson.JSONDecodeError:
                body["cpu_info"] = {}
        else:
            body["cpu_info"] = hyp.cpu_info
    if hyp.servers:
        body["servers"] = [{"name": name, "uuid": uuid} for name, uuid in hyp.servers]
    elif with_servers and version >= (2, 75):
        body["servers"] = []
    return body


def availability_zones(zones: list[Zone]) -> dict[str, Any]:
    def hosts(zone: Zone) -> dict[str, Any] | None:
        if zone.hosts is None:
            return None
        return {host: {binary: {"available": state.available, "active": state.active,
                                "updated_at": _service_time(state.updated_at)}
                       for binary, state in services.items()}
                for host, services in zone.hosts.items()}

    return {"availabilityZoneInfo": [
        {"zoneName": z.name, "zoneState": {"available": z.available}, "hosts": hosts(z)}
        for z in zones]}


# -- limits, quota sets ----------------------------------------------------------------------

_LIMIT_NAMES = {
    "ram": ("maxTotalRAMSize",), "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",), "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",), "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",), "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",), "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",), "server_group_members": ("maxServerGroupMembers",)}
_USED_NAMES = {"totalRAMUsed": "ram", "totalCoresUsed": "cores",
               "totalInstancesUsed": "instances", "totalFloatingIpsUsed": "floating_ips",
               "totalSecurityGroupsUsed": "security_groups",
               "totalServerGroupsUsed": "server_groups"}


def limits(found: QuotaSet, version: Version) -> dict[str, Any]:
    """2.36 drops the network proxies' limits, 2.39 maxImageMeta, 2.57 personality."""
    hidden = quotas.hidden_at(version)
    absolute: dict[str, int] = {}
    for resource, names in _LIMIT_NAMES.items():
        if resource in hidden:
            continue
        for name in names:
            if name != "maxImageMeta" or version < (2, 39):
                absolute[name] = found.limits[resource]
    used = found.in_use or {}
    for name, resource in _USED_NAMES.items():
        if resource not in hidden:
            absolute[name] = used.get(resource, 0)
    return {"limits": {"rate": [], "absolute": absolute}}


def quota_set(found: QuotaSet, version: Version, *, with_id: bool = True) -> dict[str, Any]:
    hidden = quotas.hidden_at(version)
    body: dict[str, Any] = {"id": found.project_id} if with_id else {}
    for resource in quotas.ALL_RESOURCES:
        if resource in hidden:
            continue
        if found.in_use is None:
            body[resource] = found.limits[resource]
        else:
            body[resource] = {"in_use": found.in_use.get(resource, 0),
                              "limit": found.limits[resource], "reserved": 0}
    return {"quota_set": body}


# -- server groups ---------------------------------------------------------------------------


def server_group(group: Group, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if version >= (2, 64):
        body["policy"] = group.policy
        body["rules"] = group.rules
    else:
        body["policies"] = [group.policy]
        body["metadata"] = {}
    body["members"] = group.members
    if version >= (2, 13):
        body["project_id"] = group.project_id
        body["user_id"] = group.user_id
    return body


# -- os-aggregates ---------------------------------------------------------------------------


def aggregate(agg: Aggregate, version: Version, *, created: bool = False) -> dict[str, Any]:
    """Nova's aggregate object; a create answers without hosts and metadata, and the uuid
    appears from 2.41."""
    body: dict[str, Any] = {
        "availability_zone": agg.availability_zone,
        "created_at": _microseconds(agg.created_at), "deleted": False, "deleted_at": None,
        "id": agg.id, "name": agg.name, "updated_at": _microseconds(agg.updated_at)}
    if not created:
        body["hosts"] = agg.hosts
        body["metadata"] = agg.metadata
    if version >= (2, 41):
        body["uuid"] = agg.uuid
    return body
