"""The network agent: Neutron's Linux-bridge and DHCP agents for this cloud's host namespace.

It reads the network service over REST as the service user (as Neutron's agents ask
neutron-server), works out the dataplane that should exist (`desired`) and makes the
namespace match it (`agent`): security-group filters on every port's tap, a dnsmasq per
network that has DHCP and ports, a namespace per router (gateway addresses, SNAT, floating
IPs), and nothing left of networks and routers that are gone.
"""
