"""Network's default rules, after Neutron's secure-RBAC defaults; rule names are Neutron's.

Who may *see* a resource (its project, a shared or external network, a port on the caller's
network) is decided in `service/access.py`; these rules say which roles may act, and which
attributes a caller may set or read. Targets are the resource as a dict with Neutron's keys
(`project_id`, `network:project_id`, `shared`, ...).
"""

from __future__ import annotations

ADMIN = "role:admin"
OWNER = "role:member and project_id:%(project_id)s"
NETWORK_OWNER = "role:member and project_id:%(network:project_id)s"
ADMIN_OR_OWNER = f"{ADMIN} or ({OWNER})"
ADMIN_OR_NET_OWNER = f"{ADMIN} or ({NETWORK_OWNER})"
READER = f"{ADMIN} or role:reader or role:service"

_PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_BINDING_ADMIN = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")

DEFAULTS: dict[str, str] = {
    "context_is_admin": ADMIN,
    # networks
    "create_network": ADMIN_OR_OWNER,
    "get_network": READER,
    "update_network": ADMIN_OR_OWNER,
    "delete_network": ADMIN_OR_OWNER,
    **{f"{verb}_network:{attr}": ADMIN for verb in ("create", "update")
       for attr in ("shared", "router:external", "is_default", *_PROVIDER)},
    **{f"get_network:{attr}": ADMIN for attr in _PROVIDER},
    # subnets
    "create_subnet": ADMIN_OR_NET_OWNER,
    "get_subnet": READER,
    "update_subnet": ADMIN_OR_NET_OWNER,
    "delete_subnet": ADMIN_OR_NET_OWNER,
    # ports
    "create_port": f"{ADMIN} or role:member",
    "create_port:device_owner": ADMIN_OR_NET_OWNER,
    "create_port:mac_address": ADMIN_OR_NET_OWNER,
    "create_port:fixed_ips:ip_address": ADMIN_OR_NET_OWNER,
    "create_port:fixed_ips:subnet_id": f"{ADMIN_OR_NET_OWNER} or shared:True",
    "create_port:port_security_enabled": ADMIN_OR_NET_OWNER,
    "create_port:allowed_address_pairs": ADMIN_OR_NET_OWNER,
    "get_port": READER,
    "update_port": f"{ADMIN_OR_OWNER} or ({NETWORK_OWNER})",
    "update_port:device_owner": ADMIN_OR_NET_OWNER,
    "update_port:mac_address": ADMIN,
    "update_port:fixed_ips:ip_address": ADMIN_OR_NET_OWNER,
    "update_port:fixed_ips:subnet_id": f"{ADMIN_OR_NET_OWNER} or shared:True",
    "update_port:port_security_enabled": ADMIN_OR_NET_OWNER,
    "update_port:allowed_address_pairs": ADMIN_OR_NET_OWNER,
    "delete_port": f"{ADMIN_OR_OWNER} or ({NETWORK_OWNER})",
    **{f"{verb}_port:{attr}": ADMIN for verb in ("create", "update", "get")
       for attr in _BINDING_ADMIN},
    # quotas, availability, tags
    "get_quota": f"{ADMIN} or (role:reader and project_id:%(project_id)s)",
    "update_quota": ADMIN,
    "delete_quota": ADMIN,
    "get_network_ip_availability": ADMIN,
    "update_tags": ADMIN_OR_OWNER,
    # security groups and their rules
    **{f"{verb}_security_group": ADMIN_OR_OWNER for verb in ("create", "update", "delete")},
    "get_security_group": READER,
    **{f"{verb}_security_group_rule": ADMIN_OR_OWNER for verb in ("create", "update", "delete")},
    "get_security_group_rule": READER,
    # routers: the gateway's SNAT switch and fixed addresses are an admin's
    **{f"{verb}_router": ADMIN_OR_OWNER for verb in ("create", "update", "delete")},
    "get_router": READER,
    **{f"{verb}_router:external_gateway_info:{attr}": ADMIN for verb in ("create", "update")
       for attr in ("enable_snat", "external_fixed_ips")},
    "add_router_interface": ADMIN_OR_OWNER,
    "remove_router_interface": ADMIN_OR_OWNER,
    "add_extraroutes": ADMIN_OR_OWNER,
    "remove_extraroutes": ADMIN_OR_OWNER,
    # floating IPs: choosing the address is an admin's
    **{f"{verb}_floatingip": ADMIN_OR_OWNER for verb in ("create", "update", "delete")},
    "get_floatingip": READER,
    "create_floatingip:floating_ip_address": ADMIN,
    "get_auto_allocated_topology": ADMIN_OR_OWNER,
    "delete_auto_allocated_topology": ADMIN_OR_OWNER,
}
