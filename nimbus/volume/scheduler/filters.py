"""Volume host filters: pure predicates over (host, request); `volume.enabled_filters` names
which run, in order."""

from __future__ import annotations

import abc

from nimbus.volume.objects import CreateRequest
from nimbus.volume.scheduler.host_state import BackendState


class BackendFilter(abc.ABC):
    name: str

    def __init__(self, over_subscription_ratio: float = 1.0) -> None:
        self.ratio = over_subscription_ratio

    @abc.abstractmethod
    def passes(self, host: BackendState, request: CreateRequest) -> bool: ...


class AvailabilityZoneFilter(BackendFilter):
    name = "AvailabilityZoneFilter"

    def passes(self, host: BackendState, request: CreateRequest) -> bool:
        return host.availability_zone == request.availability_zone


class CapacityFilter(BackendFilter):
    """Room for the volume within the (over-subscribed) total and on the real disk."""

    name = "CapacityFilter"

    def passes(self, host: BackendState, request: CreateRequest) -> bool:
        return host.room(self.ratio) >= request.size and host.free_capacity_gb >= 0


class CapabilitiesFilter(BackendFilter):
    """Cinder's rule: an extra spec without a scope, or scoped `capabilities:`, names a
    capability the host must report with that value; other scopes (`RESKEY:`, `hw:`, ...) are
    for drivers and services, not for placement."""

    name = "CapabilitiesFilter"

    def passes(self, host: BackendState, request: CreateRequest) -> bool:
        return satisfies(host.capabilities, request.extra_specs)


def satisfies(capabilities: dict[str, object], extra_specs: dict[str, str]) -> bool:
    for key, wanted in extra_specs.items():
        scope, _, name = key.rpartition(":")
        if scope not in ("", "capabilities"):
            continue
        if name not in capabilities or not _matches(capabilities[name], wanted):
            return False
    return True


def _matches(have: object, wanted: str) -> bool:
    """`<is> True` compares booleans as Cinder's extra-spec operators do; else equality."""
    if wanted.startswith("<is> "):
        return str(have).lower() == wanted.removeprefix("<is> ").strip().lower()
    return str(have) == wanted


FILTERS: dict[str, type[BackendFilter]] = {
    "availability_zone": AvailabilityZoneFilter,
    "capacity": CapacityFilter,
    "capabilities": CapabilitiesFilter,
}
