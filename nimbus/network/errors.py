"""Network's errors, rendered as `{"NeutronError": {"type", "message", "detail"}}`.

The class name is the body's `type`, so each class carries Neutron's own name.

    BadRequest  -> InvalidInput, InvalidAllocationPool, OutOfBoundsAllocationPool,
                   InvalidSharedSetting, HTTPBadRequest
    NotFound    -> NetworkNotFound, SubnetNotFound, PortNotFound, TagNotFound,
                   ExtensionNotFound, HTTPNotFound
    Conflict    -> NetworkInUse, SubnetInUse, IpAddressGenerationFailure,
                   IpAddressAlreadyAllocated, MacAddressInUse, OverlappingAllocationPools,
                   GatewayConflictWithAllocationPools, OverQuota, SegmentationIdInUse
"""

from __future__ import annotations

from nimbus.core import errors


class InvalidInput(errors.BadRequest):
    template = "Invalid input for operation: {error_message}."


class HTTPBadRequest(errors.BadRequest):
    """What Neutron's resource layer answers for malformed bodies and unknown attributes."""

    template = "{detail}"


class InvalidAllocationPool(errors.BadRequest):
    template = "The allocation pool {pool} is not valid."


class OutOfBoundsAllocationPool(errors.BadRequest):
    template = "The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}."


class InvalidSharedSetting(errors.Conflict):
    template = ("Unable to reconfigure sharing settings for network {network}. "
                "Multiple tenants are using it.")


class NetworkNotFound(errors.NotFound):
    template = "Network {net_id} could not be found."


class SubnetNotFound(errors.NotFound):
    template = "Subnet {subnet_id} could not be found."


class PortNotFound(errors.NotFound):
    template = "Port {port_id} could not be found."


class TagNotFound(errors.NotFound):
    template = "Tag {tag} could not be found for {resource} {resource_id}."


class ExtensionNotFound(errors.NotFound):
    template = "Extension with alias {alias} does not exist"


class HTTPNotFound(errors.NotFound):
    template = "{detail}"


class NetworkInUse(errors.Conflict):
    template = ("Unable to complete operation on network {net_id}. There are one or more ports "
                "still in use on the network.")


class SubnetInUse(errors.Conflict):
    template = ("Unable to complete operation on subnet {subnet_id}: One or more ports have an "
                "IP allocation from this subnet.")


class IpAddressGenerationFailure(errors.Conflict):
    template = "No more IP addresses available on network {net_id}."


class IpAddressAlreadyAllocated(errors.Conflict):
    template = "IP address {ip} already allocated in subnet {subnet_id}"


class MacAddressInUse(errors.Conflict):
    template = ("Unable to complete operation for network {net_id}. The mac address {mac} "
                "is in use.")


class OverlappingAllocationPools(errors.Conflict):
    template = "Found overlapping allocation pools: {pool_1} {pool_2} for subnet {subnet_cidr}."


class GatewayConflictWithAllocationPools(errors.Conflict):
    template = "Gateway ip {ip_address} conflicts with allocation pool {pool}"


class SegmentationIdInUse(errors.Conflict):
    template = ("Unable to create the network. The VLAN {vlan_id} on physical network "
                "{physical_network} is in use.")


class OverQuota(errors.Conflict):
    template = "Quota exceeded for resources: {overs}."


class MacAddressGenerationFailure(errors.ServiceUnavailable):
    template = "Unable to generate unique mac on network {net_id}."


class PortBound(errors.Conflict):
    template = ("Unable to complete operation on port {port_id}, port is already bound, "
                "port type: {vif_type}")


class AddressPairAndPortSecurityRequired(errors.Conflict):
    template = "Port Security must be enabled in order to have allowed address pairs on a port."


class PortSecurityAndIPRequiredForSecurityGroups(errors.BadRequest):
    template = "Port security must be enabled and port must have an IP address in order to use "\
        "security groups."


class DuplicateAddressPairInRequest(errors.BadRequest):
    template = ("Request contains duplicate address pair: mac_address {mac_address} "
                "ip_address {ip_address}.")


# Security groups (Neutron's securitygroup extension).

class SecurityGroupNotFound(errors.NotFound):
    template = "Security group {id} does not exist"


class SecurityGroupRuleNotFound(errors.NotFound):
    template = "Security group rule {id} does not exist"


class SecurityGroupInUse(errors.Conflict):
    template = "Security Group {id} in use."


class SecurityGroupCannotRemoveDefault(errors.Conflict):
    template = "Insufficient rights for removing default security group."


class SecurityGroupCannotUpdateDefault(errors.Conflict):
    template = "Updating default security group not allowed."


class SecurityGroupDefaultAlreadyExists(errors.Conflict):
    template = "Default security group already exists."


class SecurityGroupRuleExists(errors.Conflict):
    template = "Security group rule already exists. Rule id is {rule_id}."


class DuplicateSecurityGroupRuleInPost(errors.BadRequest):
    template = "Duplicate Security Group Rule in POST."


class SecurityGroupRuleInvalidProtocol(errors.BadRequest):
    template = ("Security group rule protocol {protocol} not supported. Only protocol values "
                "{values} and integer representations [0 to 255] are supported.")


class SecurityGroupProtocolRequiredWithPorts(errors.BadRequest):
    template = "Must also specify protocol if port range is given."


class SecurityGroupInvalidPortRange(errors.BadRequest):
    template = "For TCP/UDP protocols, port_range_min must be <= port_range_max"


class SecurityGroupInvalidPortValue(errors.BadRequest):
    template = "Invalid value for port {port}."


class SecurityGroupInvalidIcmpValue(errors.BadRequest):
    template = "Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255."


class SecurityGroupMissingIcmpType(errors.BadRequest):
    template = ("ICMP code (port-range-max) {value} is provided but ICMP type (port-range-min) "
                "is missing.")


class SecurityGroupInvalidProtocolForPortRange(errors.BadRequest):
    template = ("Invalid protocol {protocol} for port range, only supported for TCP, UDP, "
                "UDPLITE, SCTP and DCCP.")


class SecurityGroupRemoteGroupAndRemoteIpPrefix(errors.BadRequest):
    template = "Only remote_ip_prefix or remote_group_id may be provided."


class SecurityGroupRuleParameterConflict(errors.BadRequest):
    template = "Conflicting value ethertype {ethertype} for CIDR {cidr}"


class SecurityGroupEthertypeConflictWithProtocol(errors.BadRequest):
    template = "Invalid ethertype {ethertype} for protocol {protocol}."


class SecurityGroupRuleInvalidEtherType(errors.BadRequest):
    template = ("Security group rule for ethertype '{ethertype}' not supported. Allowed values "
                "are {values}.")


class InvalidCIDR(errors.BadRequest):
    template = "Invalid CIDR {input} given as IP prefix."


# Routers, floating IPs and auto-allocation (Neutron's l3 and auto-allocated-topology).

class BadRequest(errors.BadRequest):
    """Neutron's generic `BadRequest`, named for the resource at fault."""

    template = "Bad {resource} request: {msg}."


class RouterNotFound(errors.NotFound):
    template = "Router {router_id} could not be found"


class FloatingIPNotFound(errors.NotFound):
    template = "Floating IP {floatingip_id} could not be found"


class RouterInterfaceNotFound(errors.NotFound):
    template = "Router {router_id} does not have an interface with id {port_id}"


class RouterInterfaceNotFoundForSubnet(errors.NotFound):
    template = "Router {router_id} has no interface on subnet {subnet_id}"


class ExternalGatewayForFloatingIPNotFound(errors.NotFound):
    template = ("External network {external_network_id} is not reachable from subnet "
                "{subnet_id}.  Therefore, cannot associate Port {port_id} with a Floating IP.")


class RouterInUse(errors.Conflict):
    template = "Router {router_id} still has ports"


class RouterInterfaceInUseByFloatingIP(errors.Conflict):
    template = ("Router interface for subnet {subnet_id} on router {router_id} cannot be "
                "deleted, as it is required by one or more floating IPs.")


class RouterExternalGatewayInUseByFloatingIP(errors.Conflict):
    template = ("Gateway cannot be updated for router {router_id}, since a gateway to external "
                "network {net_id} is required by one or more floating IPs.")


class PortInUse(errors.Conflict):
    template = ("Unable to complete operation on port {port_id} for network {net_id}. Port "
                "already has an attached device {device_id}.")


class L3PortInUse(errors.Conflict):
    template = ("Port {port_id} has owner {device_owner} and therefore cannot be deleted "
                "directly via the port API.")


class FloatingIPPortAlreadyAssociated(errors.Conflict):
    template = ("Cannot associate floating IP {floating_ip_address} ({fip_id}) with port "
                "{port_id} using fixed IP {fixed_ip}, as that fixed IP already has a floating "
                "IP on external network {net_id}.")


class InvalidRoutes(errors.BadRequest):
    template = "Invalid format for routes: {routes}, {reason}"


class AutoAllocationFailure(errors.Conflict):
    template = "Deployment error: {reason}."


class DefaultExternalNetworkExists(errors.Conflict):
    template = "Unable to set network {net_id} as default external network, because " \
        "{default_net_id} is the default"


class RouterInterfaceInUseByRoute(errors.Conflict):
    template = ("Router interface for subnet {subnet_id} on router {router_id} cannot be "
                "deleted, as it is required by one or more routes.")
