"""Host weighers: each scores hosts, scores are normalised to 0..1 across the candidates and
summed with their multipliers; the highest total wins (Nova's weighing)."""

from __future__ import annotations

import abc

from nimbus.compute.objects import RequestSpec
from nimbus.compute.scheduler.host_state import HostState


class HostWeigher(abc.ABC):
    multiplier: float = 1.0

    @abc.abstractmethod
    def weigh(self, host: HostState, spec: RequestSpec) -> float: ...


class RamWeigher(HostWeigher):
    """Spread by free memory."""

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.free.get("MEMORY_MB", 0))


class CpuWeigher(HostWeigher):
    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.free.get("VCPU", 0))


class DiskWeigher(HostWeigher):
    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.free.get("DISK_GB", 0))


class ServerGroupSoftWeigher(HostWeigher):
    """soft-affinity gathers members, soft-anti-affinity spreads them; a strong multiplier
    so the policy outranks free space, as Nova's defaults do."""

    multiplier = 10.0

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        if spec.group_policy == "soft-affinity":
            return float(host.group_members)
        if spec.group_policy == "soft-anti-affinity":
            return -float(host.group_members)
        return 0.0


WEIGHERS: dict[str, type[HostWeigher]] = {
    "ram": RamWeigher,
    "cpu": CpuWeigher,
    "disk": DiskWeigher,
    "server_group_soft": ServerGroupSoftWeigher,
}


def rank(hosts: list[HostState], spec: RequestSpec, weighers: list[HostWeigher]) -> list[HostState]:
    """Hosts best first; ties keep their given order."""
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        raw = [weigher.weigh(h, spec) for h in hosts]
        low, high = min(raw, default=0.0), max(raw, default=0.0)
        span = high - low
        for i, value in enumerate(raw):
            totals[i] += weigher.multiplier * ((value - low) / span if span else 0.0)
    order = sorted(range(len(hosts)), key=lambda i: -totals[i])
    return [hosts[i] for i in order]
