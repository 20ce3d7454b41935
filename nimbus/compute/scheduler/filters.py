"""Host filters: pure predicates over (host, spec); the config names which run, in order.

Each says yes or no for one host; the scheduler counts how many hosts each removed so that a
"No valid host" fault can say which filter emptied the list.
"""

from __future__ import annotations

import abc

from nimbus.compute.objects import RequestSpec
from nimbus.compute.scheduler.host_state import HostState


class HostFilter(abc.ABC):
    name: str

    @abc.abstractmethod
    def passes(self, host: HostState, spec: RequestSpec) -> bool: ...


class ComputeFilter(HostFilter):
    """The host's agent is up and its service enabled."""

    name = "ComputeFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.enabled and host.up


class AvailabilityZoneFilter(HostFilter):
    name = "AvailabilityZoneFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return spec.availability_zone is None or spec.availability_zone == host.availability_zone


class ImagePropertiesFilter(HostFilter):
    """The image's hypervisor type and architecture, when it names them, match the host."""

    name = "ImagePropertiesFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        props = spec.image_properties
        wanted_type = props.get("img_hv_type") or props.get("hypervisor_type")
        if wanted_type and str(wanted_type).lower() not in (host.hypervisor_type, "qemu", "kvm") \
                and host.hypervisor_type != "fake":
            return False
        arch = props.get("hw_architecture") or props.get("architecture")
        return not arch or str(arch).lower() in ("x86_64", "amd64")


class ServerGroupAffinityFilter(HostFilter):
    name = "ServerGroupAffinityFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        # The first member of an affinity group may go anywhere; the rest follow it.
        if spec.group_policy != "affinity":
            return True
        return host.group_members > 0 or not host.group.members_by_host


class ServerGroupAntiAffinityFilter(HostFilter):
    name = "ServerGroupAntiAffinityFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        if spec.group_policy != "anti-affinity":
            return True
        return host.group_members < (spec.group_max_per_host or 1)


class SameHostFilter(HostFilter):
    name = "SameHostFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return not spec.same_host or bool(host.instance_uuids & set(spec.same_host))


class DifferentHostFilter(HostFilter):
    name = "DifferentHostFilter"

    def passes(self, host: HostState, spec: RequestSpec) -> bool:
        return not (host.instance_uuids & set(spec.different_host))


FILTERS: dict[str, type[HostFilter]] = {
    "compute": ComputeFilter,
    "availability_zone": AvailabilityZoneFilter,
    "image_properties": ImagePropertiesFilter,
    "server_group_affinity": ServerGroupAffinityFilter,
    "server_group_anti_affinity": ServerGroupAntiAffinityFilter,
    "same_host": SameHostFilter,
    "different_host": DifferentHostFilter,
}
