"""Security groups and anti-spoofing on the taps of the host namespace.

    filters = [PortFilter(port_id, macs=(mac,), ips=("10.0.0.5",), secured=True, rules=(...))]
    await apply(host_ns, filters)          # atomically replaces both rulesets

Two layers, both inside the host namespace only:
- L2 (nftables, bridge family): a known port's frames must carry its MAC, its ARP its
  addresses, its IPv4 packets its source address (0.0.0.0 only for a DHCP request); it may not
  answer as a DHCP server. Taps of unknown ports pass nothing either way, so a tap plugged
  before the agent saw its port is closed, not open.
- L3 (iptables, stateful): the port's security group rules, Neutron's iptables firewall
  shape: a chain per direction per port, replies of allowed flows, DHCP always allowed.
  Stateful filtering needs conntrack, which the bridge family here has not
  (no nf_conntrack_bridge); the bridge hands IPv4 to iptables through br_netfilter, with
  physdev naming the tap.
IPv6 is dropped on secured ports: the dataplane serves IPv4 only.
The bridge chains run at priority -200, before br_netfilter: it re-enters the bridge hooks after
itself and skips any other chain at its own priority 0 (br_nf_hook_thresh), as measured here.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil

from nimbus.dataplane import ip, names

LOG = logging.getLogger(__name__)

NFT_TABLE = "nimbus"
_PORTED = ("tcp", "udp", "sctp", "dccp", "udplite")
_PROTOCOL_NUMBERS = {"1": "icmp", "6": "tcp", "17": "udp", "132": "sctp"}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One IPv4 security group rule; `remote_ips` None means anywhere, () means no one
    (a remote group without members)."""

    direction: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ips: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class PortFilter:
    port_id: str
    macs: tuple[str, ...]
    ips: tuple[str, ...]
    # False for port_security_enabled=false and for the cloud's own ports (network:*).
    secured: bool = True
    rules: tuple[Rule, ...] = ()

    @property
    def taps(self) -> str:
        """The prefix of the port's taps: one per compute host holding its guest, and the
        port's veth when it is the cloud's own. Chains are named after it."""
        return names.port_taps(self.port_id)


def _set(items: list[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def render_nft(filters: list[PortFilter]) -> str:
    """The whole bridge table; loading it replaces the previous one in one transaction.

    A frame from a tap goes through `from-taps`, one to a tap through `to-taps`: the port's
    rules where a port's prefix matches the tap, a drop where none does. (Wildcards match in
    rules, not in the anonymous sets nft 1.0 has, hence chains.)"""
    from_taps = [f'iifname "{f.taps}*" goto from-{f.taps}' if f.secured
                 else f'iifname "{f.taps}*" return' for f in filters]
    to_taps = [rule for f in filters for rule in (
        ([f'oifname "{f.taps}*" ether type != {{ ip, arp }} drop'] if f.secured else [])
        + [f'oifname "{f.taps}*" return'])]
    lines = [f"table bridge {NFT_TABLE}", f"delete table bridge {NFT_TABLE}",
             f"table bridge {NFT_TABLE} {{",
             "  chain forward {", "    type filter hook forward priority -200; policy accept;",
             f'    iifname "{names.TAP_PREFIX}*" jump from-taps',
             f'    oifname "{names.TAP_PREFIX}*" jump to-taps', "  }",
             "  chain from-taps {", *(f"    {r}" for r in from_taps), "    drop", "  }",
             "  chain to-taps {", *(f"    {r}" for r in to_taps), "    drop", "  }",
             # The host namespace has no address a guest may reach.
             "  chain input {", "    type filter hook input priority -200; policy accept;",
             f'    iifname "{names.TAP_PREFIX}*" drop', "  }"]
    for f in filters:
        if not f.secured:
            continue
        macs = _set(list(f.macs)) if f.macs else "{ 00:00:00:00:00:00 }"
        ips = _set(list(f.ips)) if f.ips else "{ 0.0.0.0 }"
        lines += [f"  chain from-{f.taps} {{",
                  f"    ether saddr != {macs} drop",
                  f"    arp saddr ether != {macs} drop",
                  f"    arp saddr ip != {_set(['0.0.0.0', *f.ips])} drop",
                  "    ip saddr 0.0.0.0 udp sport 68 udp dport 67 return",
                  f"    ip saddr != {ips} drop",
                  "    udp sport 67 udp dport 68 drop",
                  "    ether type != { ip, arp } drop",
                  "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _match(rule: Rule) -> list[str]:
    proto = _PROTOCOL_NUMBERS.get(rule.protocol or "", rule.protocol)
    if proto in (None, "any", "0"):
        return []
    args = ["-p", proto]
    lo, hi = rule.port_range_min, rule.port_range_max
    if proto in _PORTED and (lo is not None or hi is not None):
        lo = lo if lo is not None else 1
        hi = hi if hi is not None else 65535
        args += ["-m", proto, "--dport", str(lo) if lo == hi else f"{lo}:{hi}"]
    elif proto == "icmp" and lo is not None:
        args += ["-m", "icmp", "--icmp-type", f"{lo}/{hi}" if hi is not None else str(lo)]
    return args


def _rule_lines(chain: str, rule: Rule) -> list[str]:
    side = "-s" if rule.direction == "ingress" else "-d"
    match = _match(rule)
    remotes: tuple[str | None, ...] = (None,) if rule.remote_ips is None else rule.remote_ips
    return [" ".join(["-A", chain, *([side, r] if r else []), *match, "-j", "RETURN"])
            for r in remotes]


def render_iptables(filters: list[PortFilter]) -> str:
    """The whole filter table, for iptables-restore (which swaps it in at once)."""
    chains: list[str] = []
    rules: list[str] = []
    for f in filters:
        if not f.secured:
            continue
        out, into = f"nimbus-o-{f.taps}", f"nimbus-i-{f.taps}"
        chains += [f":{out} - [0:0]", f":{into} - [0:0]"]
        # iptables' wildcard is `+`: every tap of the port, on whichever host.
        rules += [f"-A FORWARD -m physdev --physdev-in {f.taps}+ --physdev-is-bridged -j {out}",
                  f"-A FORWARD -m physdev --physdev-out {f.taps}+ --physdev-is-bridged -j {into}",
                  f"-A {out} -p udp -m udp --sport 68 --dport 67 -j RETURN",
                  f"-A {into} -p udp -m udp --sport 67 --dport 68 -j RETURN"]
        for chain in (out, into):
            rules += [f"-A {chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
                      f"-A {chain} -m conntrack --ctstate INVALID -j DROP"]
        for rule in f.rules:
            rules += _rule_lines(into if rule.direction == "ingress" else out, rule)
        rules += [f"-A {out} -j DROP", f"-A {into} -j DROP"]
    return "\n".join(["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                      ":OUTPUT ACCEPT [0:0]", *chains, *rules, "COMMIT"]) + "\n"


async def apply(host_ns: str, filters: list[PortFilter], *,
                forget: tuple[str, ...] = ()) -> None:
    """Replace both rulesets of the host namespace with these ports' filters, then drop the
    tracked flows of the `forget` addresses (ports whose filter changed or went): a flow the
    old rules let in would otherwise outlive them, as ESTABLISHED."""
    await ip.exec_in(host_ns, "iptables-restore", stdin=render_iptables(filters))
    await ip.exec_in(host_ns, "nft", "-f", "-", stdin=render_nft(filters))
    for address in forget:
        for side in ("--orig-src", "--orig-dst"):
            try:
                await ip.exec_in(host_ns, "conntrack", "-D", side, address)
            except ip.CommandFailed as exc:
                if "0 flow entries" not in exc.stderr:  # conntrack's way to say "none"
                    raise


async def ensure_baseline(host_ns: str) -> None:
    """Close every tap if no filter was ever written here (a fresh namespace). Without nft
    there is no network agent either (it needs nft): taps then join a bare bridge, so a guest
    still boots, with no DHCP and no filtering, rather than failing."""
    if shutil.which("nft") is None:
        LOG.warning("nft is not installed: taps in %s are not filtered", host_ns)
        return
    try:
        await ip.exec_in(host_ns, "nft", "list", "table", "bridge", NFT_TABLE)
    except ip.CommandFailed:
        await ip.exec_in(host_ns, "nft", "-f", "-", stdin=render_nft([]))
