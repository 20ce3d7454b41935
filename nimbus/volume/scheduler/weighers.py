"""Volume host weighers: scores normalised to 0..1 across candidates, summed with their
multipliers; the highest total wins (Cinder's weighing)."""

from __future__ import annotations

import abc

from nimbus.volume.objects import CreateRequest
from nimbus.volume.scheduler.host_state import BackendState


class BackendWeigher(abc.ABC):
    multiplier: float = 1.0

    def __init__(self, over_subscription_ratio: float = 1.0) -> None:
        self.ratio = over_subscription_ratio

    @abc.abstractmethod
    def weigh(self, host: BackendState, request: CreateRequest) -> float: ...


class CapacityWeigher(BackendWeigher):
    """Spread by what is left to provision (Cinder's capacity_weight_multiplier = 1)."""

    def weigh(self, host: BackendState, request: CreateRequest) -> float:
        return host.room(self.ratio)


class VolumeNumberWeigher(BackendWeigher):
    """Fewer gigabytes already placed wins (an alternative to capacity)."""

    multiplier = -1.0

    def weigh(self, host: BackendState, request: CreateRequest) -> float:
        return float(host.provisioned_gb)


WEIGHERS: dict[str, type[BackendWeigher]] = {
    "capacity": CapacityWeigher,
    "allocated": VolumeNumberWeigher,
}


def rank(hosts: list[BackendState], request: CreateRequest,
         weighers: list[BackendWeigher]) -> list[BackendState]:
    """Hosts best first; ties keep their given order."""
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        raw = [weigher.weigh(h, request) for h in hosts]
        low, high = min(raw, default=0.0), max(raw, default=0.0)
        span = high - low
        for i, value in enumerate(raw):
            totals[i] += weigher.multiplier * ((value - low) / span if span else 0.0)
    order = sorted(range(len(hosts)), key=lambda i: -totals[i])
    return [hosts[i] for i in order]
