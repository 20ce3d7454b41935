"""The network service: Neutron v2.0 (networks, subnets, ports, IPAM, quotas, tags)."""
