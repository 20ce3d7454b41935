"""What travels over compute's RPC: pydantic models, JSON on the wire, versioned with the API.

Nova learned to stop sending "unversioned bundles of data" between its services; these models
are the payloads of rpcapi.py and nothing else crosses the bus.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def guest_user_data(user_data: str | None) -> bytes | None:
    """The server's user data as its guest gets it: the API takes it base64-encoded, and
    Nova's config drive and metadata service hand out the decoded bytes. Data that is not
    base64 goes as it came."""
    if not user_data:
        return None
    try:
        return base64.b64decode(user_data, validate=True)
    except binascii.Error:
        return user_data.encode()


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FlavorSpec(_Payload):
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = Field(default_factory=dict)

    def resources(self) -> dict[str, int]:
        """What placement is asked for: Nova's standard resource classes."""
        wanted = {"VCPU": self.vcpus, "MEMORY_MB": self.memory_mb,
                  "DISK_GB": self.root_gb + self.ephemeral_gb + (self.swap + 1023) // 1024}
        return {rc: amount for rc, amount in wanted.items() if amount > 0}


class RequestedNetwork(_Payload):
    """One interface a server asked for: a network (with an address, maybe) or a given port."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


class RequestSpec(_Payload):
    """Everything scheduling needs, for a first build and for a retry."""

    instance_uuids: list[str]
    project_id: str
    user_id: str
    flavor: FlavorSpec
    image_id: str | None = None
    image_properties: dict[str, Any] = Field(default_factory=dict)
    availability_zone: str | None = None
    # An admin's `zone:host:node`: the scheduler takes that host or node without filters.
    force_host: str | None = None
    force_node: str | None = None
    # 2.74's host and hypervisor_hostname, or a move's destination: only that host or node,
    # and it must pass the filters. Per request: a later move or unshelve clears them.
    requested_host: str | None = None
    requested_node: str | None = None
    group_uuid: str | None = None
    group_policy: str | None = None
    group_max_per_host: int | None = None
    same_host: list[str] = Field(default_factory=list)
    different_host: list[str] = Field(default_factory=list)
    requested_networks: list[RequestedNetwork] = Field(default_factory=list)
    # Hosts that already failed this build: never chosen again.
    ignore_hosts: list[str] = Field(default_factory=list)
    # A retry's alternates from the first scheduling: taken first if they still pass the filters.
    preferred_hosts: list[str] = Field(default_factory=list)
    # A move: only hosts of the source's hypervisor type can take the guest.
    hypervisor_type: str | None = None


class Selection(_Payload):
    """A host chosen for one instance, with the placement allocation made for it."""

    host: str
    node: str
    provider_uuid: str
    allocation: dict[str, int]


class SelectionList(_Payload):
    """The chosen host first, then alternates to retry on (claimed only when used)."""

    selections: list[Selection]


class BlockDevice(_Payload):
    """A volume of a server as its agent handles it (from its block device mapping)."""

    volume_id: str
    # None for a volume the API had made from an image: the agent reserves it once it is
    # available.
    attachment_id: str | None
    project_id: str
    device_name: str
    boot_index: int | None = None
    delete_on_termination: bool = False


class BuildRequest(_Payload):
    """What an agent gets to build one instance."""

    instance_uuid: str
    name: str
    hostname: str
    project_id: str
    user_id: str
    flavor: FlavorSpec
    image_id: str | None
    key_data: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    node: str
    attempt: int = 1
    availability_zone: str | None = None
    requested_networks: list[RequestedNetwork] = Field(default_factory=list)
    # Volumes reserved by the API (boot from volume): connected before spawn.
    block_devices: list[BlockDevice] = Field(default_factory=list)


class ComputeNodeReport(_Payload):
    """A host's hypervisor as its resource tracker sees it."""

    host: str
    hypervisor_hostname: str
    provider_uuid: str
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    cpu_info: str = "{}"


class InstanceOnHost(_Payload):
    """The database's view of an instance an agent hosts (for start-up reconciliation)."""

    uuid: str
    vm_state: str
    task_state: str | None
    power_state: int
    flavor: FlavorSpec


class MoveRequest(_Payload):
    """One move of an instance (Nova's migration object), as the conductor hands it to the
    source and destination agents."""

    migration_uuid: str
    instance_uuid: str
    migration_type: str
    source_compute: str
    source_node: str | None = None
    dest_compute: str | None = None
    dest_node: str | None = None
    hostname: str
    project_id: str
    # The flavor the guest has at the destination, and had at the source.
    flavor: FlavorSpec
    old_flavor: FlavorSpec
    image_id: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    power_on: bool = True
    block_migration: bool = False
    # Resize and cold migration: where the destination gets the stopped guest's disks, as
    # the source's driver offers them (the source reports it with its resize_instance step).
    source_disk: str = ""

    @property
    def same_host(self) -> bool:
        return self.source_compute == self.dest_compute
