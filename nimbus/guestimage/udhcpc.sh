#!/bin/sh
# udhcpc's hook in the test guest: apply the lease (busybox passes it in the environment).
case $1 in
deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    # One default route for the guest: the first NIC whose lease names a router wins.
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface" 2>/dev/null
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    ;;
esac
exit 0
