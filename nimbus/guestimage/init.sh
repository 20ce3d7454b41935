#!/bin/sh
# PID 1 of the Nimbus test guest (busybox). It brings up what a cloud guest needs and reports on
# the serial console, which is all a test or `openstack console log show` can see:
#   nimbus-guest: address eth0 10.0.0.5/24      one line per IPv4 address, after DHCP
#   nimbus-guest login:                         the marker: boot is complete
#   nimbus-guest: block added vdb                a disk hot-plugged later (or "block removed")
# Kernel command-line knobs: guest.halt=1 powers off right after the marker, guest.net=0 skips
# DHCP, guest.ticks=N prints "TICK i uptime=..." once a second N times (a clock to watch).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# The cloud kernel has DEVTMPFS but not DEVTMPFS_MOUNT.
mount -t devtmpfs devtmpfs /dev

say() { echo "nimbus-guest: $*"; }

knob() { # knob NAME DEFAULT: the value of guest.NAME=... on the kernel command line
    value=$2
    for word in $(cat /proc/cmdline); do
        case $word in "guest.$1="*) value=${word#guest.$1=} ;; esac
    done
    echo "$value"
}

# In dependency order, written by the image builder.
while read -r module; do
    insmod "/lib/modules/$module.ko" || say "could not load $module"
done </etc/modules.load

# QMP system_powerdown is an ACPI power-button press; acpid runs /etc/acpi/PWRF/00000080.
# Its default log and pid files are under /var, which this guest lacks: acpid dies without them.
acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid || say "acpid did not start"

hostname nimbus-guest
ip link set lo up

if [ "$(knob net 1)" = 1 ]; then
    for path in /sys/class/net/*; do
        nic=${path##*/}
        [ "$nic" = lo ] && continue
        ip link set "$nic" up
        udhcpc -i "$nic" -n -q -t 5 -T 2 -s /etc/udhcpc.script >/dev/null 2>&1 \
            || say "no DHCP lease on $nic"
    done
fi

# The config drive (label config-2) of an IDE CD-ROM is probed asynchronously: give it a moment.
config=/mnt/config
tries=0
while ! device=$(findfs LABEL=config-2 2>/dev/null) && [ $tries -lt 5 ]; do
    sleep 0.2
    tries=$((tries + 1))
done
if [ -n "$device" ] && mount -t iso9660 -o ro "$device" $config; then
    latest=$config/openstack/latest
    name=$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' $latest/meta_data.json | head -n 1)
    uuid=$(sed -n 's/.*"uuid": *"\([^"]*\)".*/\1/p' $latest/meta_data.json | head -n 1)
    [ -n "$name" ] && hostname "$name"
    say "config drive $device: hostname ${name:-unset} uuid ${uuid:-unset}"
    if [ -f $latest/user_data ]; then
        if [ "$(head -c 2 $latest/user_data)" = "#!" ]; then
            cp $latest/user_data /run/user_data && chmod +x /run/user_data
            say "running user_data"
            /run/user_data 2>&1 | sed 's/^/user_data: /'
        else
            say "user_data $(wc -c <$latest/user_data) bytes, not a script"
        fi
    fi
else
    say "no config drive"
fi

ip -4 -o addr show | awk '$2 != "lo" { print "nimbus-guest: address " $2 " " $4 }'
echo "nimbus-guest: hostname $(hostname), kernel $(uname -r)"
echo "nimbus-guest login: "

if [ "$(knob halt 0)" = 1 ]; then
    say "halting (guest.halt=1)"
    poweroff -f
fi

ticks=$(knob ticks 0)
tick=1
while [ $tick -le "$ticks" ]; do
    sleep 1
    echo "TICK $tick uptime=$(cut -d ' ' -f 1 /proc/uptime)"
    tick=$((tick + 1))
done

# PID 1 must never exit: the kernel would panic. Meanwhile it reports block devices hot-plugged
# or unplugged (an attached volume), one line each, as "nimbus-guest: block added vdb".
disks() { ls /sys/block; }
before=$(disks)
while :; do
    sleep 1
    now=$(disks)
    for dev in $now; do
        case " $(echo $before) " in *" $dev "*) ;; *) say "block added $dev" ;; esac
    done
    for dev in $before; do
        case " $(echo $now) " in *" $dev "*) ;; *) say "block removed $dev" ;; esac
    done
    before=$now
done
