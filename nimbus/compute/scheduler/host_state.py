"""What the scheduler knows about candidate hosts while it decides one request."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class GroupPlacement:
    """Where the request's server group has members, updated as the request places more."""

    members_by_host: dict[str, int] = dataclasses.field(default_factory=dict)

    def on(self, host: str) -> int:
        return self.members_by_host.get(host, 0)

    def add(self, host: str) -> None:
        self.members_by_host[host] = self.on(host) + 1


@dataclasses.dataclass
class HostState:
    host: str
    node: str
    provider_uuid: str
    availability_zone: str
    hypervisor_type: str
    enabled: bool
    up: bool
    free: dict[str, int]
    instance_uuids: set[str] = dataclasses.field(default_factory=set)
    group: GroupPlacement = dataclasses.field(default_factory=GroupPlacement)

    @property
    def group_members(self) -> int:
        return self.group.on(self.host)

    def consume(self, resources: dict[str, int], instance_uuid: str, in_group: bool) -> None:
        """Account for an instance placed here earlier in the same request."""
        for rc, amount in resources.items():
            self.free[rc] = self.free.get(rc, 0) - amount
        self.instance_uuids.add(instance_uuid)
        if in_group:
            self.group.add(self.host)
