"""What a request may carry, per resource: Neutron's attribute maps (allow_post, allow_put,
default, validator), and the parsing of `{"network": {...}}` and bulk `{"networks": [...]}`.

Neutron is not described by JSON schemas but by these maps; the error texts are its own.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from nimbus.network import errors, protocols
from nimbus.network import validators as v


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
# An attribute whose default the service layer works out (gateway_ip, allocation pools, ...).
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


@dataclasses.dataclass(frozen=True)
class Attr:
    check: v.Check
    post: bool = True
    put: bool = True
    default: Any = UNSET


_NAME = Attr(v.string(255), default="")
_DESCRIPTION = Attr(v.string(255), default="")
_PROJECT = Attr(v.string(255), put=False)
_VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical",
               "virtio-forwarder", "smart-nic", "remote-managed", "vdpa")
IPV6_MODES = ("dhcpv6-stateful", "dhcpv6-stateless", "slaac")

NETWORK: dict[str, Attr] = {
    "name": _NAME,
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "admin_state_up": Attr(v.boolean, default=True),
    "shared": Attr(v.boolean, default=False),
    "router:external": Attr(v.boolean, default=False),
    "is_default": Attr(v.boolean, default=False),
    "mtu": Attr(v.integer(68, 65535)),
    "port_security_enabled": Attr(v.boolean, default=True),
    "availability_zone_hints": Attr(v.list_of(v.string(255), unique=True), put=False, default=[]),
    "provider:network_type": Attr(v.one_of("local", "flat", "vlan", "vxlan", "geneve", "gre"),
                                  put=False),
    "provider:physical_network": Attr(v.string_or_none(64), put=False),
    "provider:segmentation_id": Attr(v.integer_or_none(0), put=False),
}

_POOL = v.dict_with({"start": (v.ip_address, True), "end": (v.ip_address, True)})
_ROUTE = v.dict_with({"destination": (v.cidr, True), "nexthop": (v.ip_address, True)})

SUBNET: dict[str, Attr] = {
    "name": _NAME,
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "network_id": Attr(v.uuid_str, put=False, default=REQUIRED),
    "ip_version": Attr(lambda x: v.one_of(4, 6)(v.integer()(x)), put=False, default=REQUIRED),
    "cidr": Attr(v.cidr, put=False, default=REQUIRED),
    "gateway_ip": Attr(v.ip_address_or_none),
    "allocation_pools": Attr(v.list_of(_POOL)),
    "dns_nameservers": Attr(v.list_of(v.ip_address, unique=True), default=[]),
    "host_routes": Attr(v.list_of(_ROUTE), default=[]),
    "enable_dhcp": Attr(v.boolean, default=True),
    "ipv6_ra_mode": Attr(lambda x: None if x is None else v.one_of(*IPV6_MODES)(x), put=False,
                         default=None),
    "ipv6_address_mode": Attr(lambda x: None if x is None else v.one_of(*IPV6_MODES)(x),
                              put=False, default=None),
    "subnetpool_id": Attr(lambda x: None if x is None else v.uuid_str(x), put=False,
                          default=None),
    "use_default_subnetpool": Attr(v.boolean, put=False, default=False),
    "service_types": Attr(v.list_of(v.string(255)), default=[]),
}

_FIXED_IP = v.dict_with({"subnet_id": (v.uuid_str, False), "ip_address": (v.ip_address, False)})
_ADDRESS_PAIR = v.dict_with({"ip_address": (v.ip_or_cidr, True), "mac_address": (v.mac_address, False)})
_DHCP_OPT = v.dict_with({"opt_name": (v.string(255), True), "opt_value": (v.string_or_none(255), True),
                         "ip_version": (lambda x: v.one_of(4, 6)(v.integer()(x)), False)})

PORT: dict[str, Attr] = {
    "name": _NAME,
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "network_id": Attr(v.uuid_str, put=False, default=REQUIRED),
    "admin_state_up": Attr(v.boolean, default=True),
    "mac_address": Attr(v.mac_address),
    "fixed_ips": Attr(v.list_of(_FIXED_IP)),
    "device_id": Attr(v.string(255), default=""),
    "device_owner": Attr(v.string(255), default=""),
    "binding:host_id": Attr(v.string(255), default=""),
    "binding:vnic_type": Attr(v.one_of(*_VNIC_TYPES), default="normal"),
    "binding:profile": Attr(v.any_dict, default={}),
    "allowed_address_pairs": Attr(v.list_of(_ADDRESS_PAIR), default=[]),
    "port_security_enabled": Attr(v.boolean),
    "security_groups": Attr(lambda x: v.list_of(v.uuid_str, unique=True)(x or []),),
    "extra_dhcp_opts": Attr(v.list_of(_DHCP_OPT), default=[]),
}

def _name_not_default(value: Any) -> str:
    if v.string(255)(value).lower() == "default":
        raise errors.SecurityGroupDefaultAlreadyExists()
    return str(value)


SECURITY_GROUP: dict[str, Attr] = {
    "name": Attr(_name_not_default, default=""),
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "stateful": Attr(v.boolean, default=True),
}

SECURITY_GROUP_RULE: dict[str, Attr] = {
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "security_group_id": Attr(v.uuid_str, put=False, default=REQUIRED),
    # Any id: one that names no group is a 404 SecurityGroupNotFound, as in Neutron.
    "remote_group_id": Attr(v.string_or_none(255), put=False, default=None),
    "direction": Attr(v.one_of("ingress", "egress"), put=False, default=REQUIRED),
    "protocol": Attr(protocols.protocol, put=False, default=None),
    "port_range_min": Attr(protocols.port, put=False, default=None),
    "port_range_max": Attr(protocols.port, put=False, default=None),
    "ethertype": Attr(protocols.ethertype, put=False, default="IPv4"),
    "remote_ip_prefix": Attr(protocols.prefix, put=False, default=None),
}

_GATEWAY = v.dict_with({"network_id": (v.uuid_str, True), "enable_snat": (v.boolean, False),
                        "external_fixed_ips": (v.list_of(_FIXED_IP), False)})

ROUTER: dict[str, Attr] = {
    "name": _NAME,
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "admin_state_up": Attr(v.boolean, default=True),
    "external_gateway_info": Attr(lambda x: None if x is None or x == {} else _GATEWAY(x)),
    "routes": Attr(lambda x: [] if x is None else v.list_of(_ROUTE)(x), post=False),
}

FLOATING_IP: dict[str, Attr] = {
    "description": _DESCRIPTION,
    "project_id": _PROJECT,
    "tenant_id": _PROJECT,
    "floating_network_id": Attr(v.uuid_str, put=False, default=REQUIRED),
    "floating_ip_address": Attr(v.ip_address_or_none, put=False),
    "subnet_id": Attr(v.uuid_or_none, put=False),
    "port_id": Attr(v.uuid_or_none),
    "fixed_ip_address": Attr(v.ip_address_or_none),
}

RESOURCES: dict[str, dict[str, Attr]] = {
    "router": ROUTER, "floatingip": FLOATING_IP,
    "network": NETWORK, "subnet": SUBNET, "port": PORT,
    "security_group": SECURITY_GROUP, "security_group_rule": SECURITY_GROUP_RULE}


def items_of(resource: str, body: Any) -> tuple[list[Any], bool]:
    """The resource dicts a create body carries, and whether it was a bulk request."""
    if not isinstance(body, dict):
        raise errors.HTTPBadRequest(detail="Resource body required")
    plural = f"{resource}s"
    if plural in body and isinstance(body[plural], list):
        if not body[plural]:
            raise errors.HTTPBadRequest(detail="Resources required")
        return body[plural], True
    if resource not in body:
        raise errors.HTTPBadRequest(detail=f"Unable to find '{resource}' in request body")
    return [body[resource]], False


def update_item(resource: str, body: Any) -> Any:
    if not isinstance(body, dict) or resource not in body:
        raise errors.HTTPBadRequest(detail=f"Unable to find '{resource}' in request body")
    return body[resource]


def prepare(resource: str, data: Any, *, create: bool) -> dict[str, Any]:
    """Validated attributes of one item: converted values, create defaults filled in.

    Attributes whose default the service works out are left out when not given.
    """
    attrs = RESOURCES[resource]
    if not isinstance(data, dict):
        raise errors.HTTPBadRequest(detail=f"Unable to find '{resource}' in request body")
    unknown = [k for k in data if k not in attrs]
    if unknown:
        raise errors.HTTPBadRequest(
            detail=f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    out: dict[str, Any] = {}
    for name, value in data.items():
        attr = attrs[name]
        if create and not attr.post:
            raise errors.HTTPBadRequest(detail=f"Attribute '{name}' not allowed in POST")
        if not create and not attr.put:
            raise errors.HTTPBadRequest(detail=f"Cannot update read-only attribute {name}")
        try:
            out[name] = attr.check(value)
        except v.Invalid as exc:
            raise errors.HTTPBadRequest(detail=f"Invalid input for {name}. Reason: {exc}.") from None
    if create:
        for name, attr in attrs.items():
            if name in out:
                continue
            if attr.default is REQUIRED:
                raise errors.HTTPBadRequest(
                    detail=f"Failed to parse request. Required attribute '{name}' not specified")
            if attr.default is not UNSET:
                out[name] = copy.deepcopy(attr.default)
    _merge_project(out)
    return out


def _merge_project(out: dict[str, Any]) -> None:
    tenant, project = out.pop("tenant_id", None), out.pop("project_id", None)
    if tenant is not None and project is not None and tenant != project:
        raise errors.HTTPBadRequest(detail="'project_id' and 'tenant_id' do not match")
    if tenant or project:
        out["project_id"] = project or tenant
