"""DHCP for one network, as Neutron's DHCP agent serves it: a namespace `qdhcp-<network>`
joined to the network's bridge by a veth that carries the DHCP port's addresses, and a
dnsmasq there handing out each port's fixed IP as a static lease.

    await enable(state_dir, host_ns, DhcpNetwork(...))   # start, or SIGHUP after a change
    await disable(state_dir, network_id)                 # stop dnsmasq, remove the namespace

Files live in `<state_dir>/dhcp/<network_id>/` (host, opts, leases, pid, log, argv); that
directory, not the namespace name, says this cloud owns the network's DHCP, so reconciling
after a crash removes only our own leftovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import logging
import os
import shutil
import signal
from pathlib import Path

from nimbus.dataplane import ip, names, vif

LOG = logging.getLogger(__name__)

LEASE_SECONDS = 86400
STOP_TIMEOUT = 5.0


@dataclasses.dataclass(frozen=True)
class DhcpSubnet:
    subnet_id: str
    cidr: str
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination, nexthop)


@dataclasses.dataclass(frozen=True)
class DhcpHost:
    mac: str
    ip: str

    @property
    def hostname(self) -> str:
        return "host-" + self.ip.replace(".", "-")


@dataclasses.dataclass(frozen=True)
class DhcpNetwork:
    network_id: str
    mtu: int
    port_id: str  # the network:dhcp port
    port_mac: str
    port_ips: tuple[str, ...]  # with prefix length, e.g. 10.0.0.2/24
    subnets: tuple[DhcpSubnet, ...]
    hosts: tuple[DhcpHost, ...]


def state_root(state_dir: Path) -> Path:
    return state_dir / "dhcp"


def _dir(state_dir: Path, network_id: str) -> Path:
    return state_root(state_dir) / network_id


def enabled_networks(state_dir: Path) -> list[str]:
    root = state_root(state_dir)
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _tag(subnet: DhcpSubnet) -> str:
    return f"subnet-{subnet.subnet_id}"


def hosts_file(net: DhcpNetwork) -> str:
    return "".join(f"{h.mac},{h.hostname},{h.ip}\n" for h in net.hosts)


def opts_file(net: DhcpNetwork) -> str:
    lines = []
    for s in net.subnets:
        tag = _tag(s)
        if s.gateway_ip:
            lines.append(f"tag:{tag},option:router,{s.gateway_ip}")
        if s.dns_nameservers:
            lines.append(f"tag:{tag},option:dns-server,{','.join(s.dns_nameservers)}")
        if s.host_routes:
            routes = ",".join(f"{dest},{hop}" for dest, hop in s.host_routes)
            lines.append(f"tag:{tag},option:classless-static-route,{routes}")
    return "".join(f"{line}\n" for line in lines)


def dnsmasq_argv(net: DhcpNetwork, where: Path) -> list[str]:
    # --user=root: the state directory is private (0700), so the user dnsmasq would drop to
    # could not re-read the hosts file on SIGHUP; the namespace is what confines it.
    argv = ["dnsmasq", "--conf-file=/dev/null", "--user=root", "--no-hosts", "--no-resolv",
            "--port=0",
            f"--interface={names.dhcp_device(net.port_id)}", "--bind-interfaces",
            "--except-interface=lo", f"--pid-file={where / 'pid'}",
            f"--dhcp-hostsfile={where / 'host'}", f"--dhcp-optsfile={where / 'opts'}",
            f"--dhcp-leasefile={where / 'leases'}", "--log-dhcp",
            f"--log-facility={where / 'log'}", f"--dhcp-option-force=option:mtu,{net.mtu}"]
    size = 0
    for s in net.subnets:
        cidr = ipaddress.ip_network(s.cidr)
        size += cidr.num_addresses
        argv.append(f"--dhcp-range=set:{_tag(s)},{cidr.network_address},static,"
                    f"{cidr.netmask},{LEASE_SECONDS}s")
    argv.append(f"--dhcp-lease-max={max(size, 16)}")
    return argv


def _running_pid(where: Path) -> int | None:
    """dnsmasq's pid from its pid file, if that process is still the dnsmasq for `where`."""
    try:
        pid = int((where / "pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(where / "pid").encode() in cmdline else None


def running(state_dir: Path, network_id: str) -> bool:
    return _running_pid(_dir(state_dir, network_id)) is not None


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


async def _stop(where: Path) -> None:
    pid = _running_pid(where)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_TIMEOUT
    # Not our child (it daemonized): polling its /proc entry is the only way to see it go.
    while _running_pid(where) is not None and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if _running_pid(where) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def enable(state_dir: Path, host_ns: str, net: DhcpNetwork) -> None:
    """DHCP up for the network with exactly these hosts. Idempotent: unchanged input does
    nothing, changed hosts or options reload dnsmasq (SIGHUP), changed subnets or MTU
    restart it."""
    where = _dir(state_dir, net.network_id)
    where.mkdir(parents=True, exist_ok=True)
    netns = names.dhcp_namespace(net.network_id)
    await ip.ensure_netns(netns)
    # A new veth (the old one went with a host namespace) needs a dnsmasq bound afresh.
    new_device = await vif.plug_namespace_port(
        host_ns, netns, net.network_id, net.port_id, names.dhcp_device(net.port_id),
        mac=net.port_mac, mtu=net.mtu, addresses=net.port_ips)
    changed = _write_if_changed(where / "host", hosts_file(net))
    changed = _write_if_changed(where / "opts", opts_file(net)) or changed
    argv = dnsmasq_argv(net, where)
    new_argv = _write_if_changed(where / "argv", json.dumps(argv))
    pid = _running_pid(where)
    if pid is not None and not new_argv and not new_device:
        if changed:
            os.kill(pid, signal.SIGHUP)
        return
    await _stop(where)
    # dnsmasq daemonizes; its exit status says whether it could start.
    await ip.exec_in(names.dhcp_namespace(net.network_id), *argv)
    LOG.info("dnsmasq serving network %s (%d hosts)", net.network_id, len(net.hosts))


def reload_hosts(state_dir: Path, net: DhcpNetwork) -> bool:
    """Only the hosts changed: rewrite the file and SIGHUP a running dnsmasq, without
    touching devices. False if it is not running (then call enable)."""
    where = _dir(state_dir, net.network_id)
    pid = _running_pid(where)
    if pid is None:
        return False
    if _write_if_changed(where / "host", hosts_file(net)):
        os.kill(pid, signal.SIGHUP)
    return True


async def disable(state_dir: Path, network_id: str) -> None:
    """Stop the network's dnsmasq and remove its namespace (and so its veth) and files.
    Idempotent."""
    where = _dir(state_dir, network_id)
    await _stop(where)
    await ip.delete_netns(names.dhcp_namespace(network_id))
    shutil.rmtree(where, ignore_errors=True)
