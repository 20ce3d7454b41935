"""The Linux dataplane of a Nimbus cloud: what os-vif and Neutron's Linux-bridge and DHCP agents
do on a host, kept inside network namespaces Nimbus creates and removes.

    host_ns = names.host_namespace(state_dir)        # one per cloud: nimbus-<8 hex>
    netns, tap = await vif.plug_vif(host_ns, net_id, port_id, host="node1", mtu=1500)
    # bridge brq<net[:11]>, tap tap<port[:8]><hash of host[:4]>
    await vif.unplug_vif(host_ns, port_id, host="node1")   # after the guest is gone; idempotent

Nothing here touches the host's own network namespace: every command runs in a namespace
named by `names`. A library of its own, like os-vif: compute plugs taps with it, the network
agent wires DHCP and security groups with it; it imports no service.
"""
