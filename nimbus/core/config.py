"""One settings model for every service: a TOML file plus `NIMBUS_*` environment variables.

Precedence, highest first: environment (`NIMBUS_PORT`, `NIMBUS_DATABASE__CONNECTION`, ...),
the TOML file (`NIMBUS_CONFIG`, else `<state_dir>/nimbus.toml` if it exists), defaults.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_STATE_DIR = Path(".nimbus")


class DatabaseSettings(BaseModel):
    # None means SQLite in the state directory.
    connection: str | None = None
    echo: bool = False


class IdentitySettings(BaseModel):
    token_expiration: int = 3600
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    # How long a remote validator trusts a validation it got from identity.
    validation_cache_seconds: float = 30.0
    # Service account other services use for their REST calls and remote validation.
    service_user: str = "nimbus-service"
    service_password: str | None = None
    max_password_length: int = 4096


class ComputeQuotaSettings(BaseModel):
    """Nova's default per-project limits; -1 is unlimited."""

    instances: int = 10
    cores: int = 20
    ram: int = 51200
    key_pairs: int = 100
    metadata_items: int = 128
    server_groups: int = 10
    server_group_members: int = 10


class QemuSettings(BaseModel):
    """The QEMU driver's knobs (nimbus/compute/virt/qemu)."""

    binary: str = "qemu-system-x86_64"
    # "auto": KVM where a guest really runs on it (probed once per agent), else TCG.
    accel: Literal["auto", "kvm", "tcg"] = "auto"
    machine: str = "pc"
    # Memory the host keeps for itself; the rest is offered to guests.
    reserved_host_memory_mb: int = Field(default=512, ge=0)
    # The address each QEMU host listens on for guests live-migrating to it (memory over tcp,
    # the root disk over NBD): one the other hosts reach. Loopback fits one machine.
    migration_address: str = "127.0.0.1"
    # `nimbus up` registers the test guest (nimbus/guestimage) as this public image.
    guest_image_name: str = "nimbus-guest"


class ComputeSettings(BaseModel):
    # The hypervisor driver of `nimbus serve compute`: a key of nimbus.cmd.hosts.DRIVERS.
    driver: Literal["fake", "qemu"] = "fake"
    qemu: QemuSettings = QemuSettings()
    # Builds tried on this many hosts (the first plus alternates) before ERROR.
    max_attempts: int = Field(default=3, ge=1)
    enabled_filters: list[str] = Field(default_factory=lambda: [
        "compute", "availability_zone", "image_properties", "server_group_affinity",
        "server_group_anti_affinity", "same_host", "different_host"])
    weighers: list[str] = Field(default_factory=lambda: ["ram", "cpu", "disk", "server_group_soft"])
    # A service whose last heartbeat is older than this is down (os-services, ComputeFilter).
    service_down_time: float = 60.0
    heartbeat_interval: float = 10.0
    # A build with no progress for this long is put in ERROR by the conductor's reconciliation.
    build_timeout: float = 600.0
    default_availability_zone: str = "nova"
    quotas: ComputeQuotaSettings = ComputeQuotaSettings()
    # Nova's osapi max_limit: the most items one list page returns.
    max_limit: int = Field(default=1000, ge=1)
    # What each fake host offers (the fake driver's hypervisor).
    fake_vcpus: int = Field(default=16, ge=1)
    fake_memory_mb: int = Field(default=32768, ge=1)
    fake_disk_gb: int = Field(default=1024, ge=1)
    # Nova's allow_resize_to_same_host: a resize may land on the host it starts from.
    allow_resize_to_same_host: bool = False
    # Nova's resize_confirm_window: a resize or cold migration left in VERIFY_RESIZE this many
    # seconds is confirmed by the conductor; 0 never confirms one by itself.
    resize_confirm_window: float = Field(default=0.0, ge=0)
    # Nova's [api] enable_instance_password: rescue and rebuild answer the admin password.
    enable_instance_password: bool = True
    # Nova's shelved_offload_time: 0 frees the host as soon as a server is shelved; -1 keeps
    # it until shelveOffload; N > 0 has each agent offload a server shelved N seconds ago,
    # looking every shelved_poll_interval seconds (Nova's _poll_shelved_instances).
    shelved_offload_time: int = Field(default=0, ge=-1)
    shelved_poll_interval: float = Field(default=3600.0, gt=0)


class ImageSettings(BaseModel):
    # A key of nimbus.image.store.STORES; the filesystem store lives under <state_dir>/images.
    store: str = "file"
    # Glance's defaults: image_size_cap, and the per-image limits of its legacy quotas.
    image_size_cap: int = Field(default=1 << 40, ge=0)
    image_member_quota: int = 128
    image_property_quota: int = 128
    image_tag_quota: int = 128
    # Per-project quotas (Glance's unified-limits names); a negative value means unlimited.
    image_count_total: int = 1000
    image_size_total: int = 1 << 40
    image_stage_total: int = 1 << 40
    limit_param_default: int = Field(default=25, ge=1)
    api_limit_max: int = Field(default=1000, ge=1)
    # An upload, stage or import not renewed for this long belongs to an image API process
    # that died; recovery (at start-up, then periodically) puts the image back.
    upload_lease_seconds: float = Field(default=60.0, gt=0)


class NetworkQuotaSettings(BaseModel):
    """Neutron's default per-project limits; -1 is unlimited."""

    network: int = 100
    subnet: int = 100
    port: int = 500
    security_group: int = 10
    security_group_rule: int = 100
    router: int = 10
    floatingip: int = 50


class NetworkSettings(BaseModel):
    # What a project's network gets when no provider attributes are given.
    tenant_network_type: str = "local"
    # Neutron's global_physnet_mtu.
    mtu: int = Field(default=1500, ge=68)
    # How a bound port is plugged: our agent plugs into Linux bridges.
    vif_type: str = "bridge"
    # Whether `nimbus up` runs the network agent (bridges, DHCP, security groups in
    # namespaces; needs root, ip, dnsmasq, iptables, nft, conntrack). None: when a compute
    # host's driver needs it (QEMU), so fake-driver clouds leave the host untouched.
    dataplane: bool | None = None
    quotas: NetworkQuotaSettings = NetworkQuotaSettings()
    # The subnet an auto-allocated topology gets (each project has its own router).
    auto_allocated_cidr: str = "10.64.0.0/24"
class VolumeQuotaSettings(BaseModel):
    """Cinder's default per-project limits; -1 is unlimited."""

    volumes: int = 10
    snapshots: int = 10
    gigabytes: int = 1000
    backups: int = 10
    backup_gigabytes: int = 1000
    groups: int = 10
    per_volume_gigabytes: int = -1


class VolumeSettings(BaseModel):
    # The backend of this host's volume manager: a key of nimbus.volume.backends.BACKENDS.
    backend: str = "file"
    # What a file backend offers the scheduler; qcow2 files are thin, so this is a promise.
    capacity_gb: int = Field(default=1000, ge=1)
    # Over-subscription the capacity filter allows (Cinder's max_over_subscription_ratio).
    max_over_subscription_ratio: float = Field(default=1.0, ge=1.0)
    default_volume_type: str = "__DEFAULT__"
    default_availability_zone: str = "nova"
    enabled_filters: list[str] = Field(default_factory=lambda: [
        "availability_zone", "capacity", "capabilities"])
    weighers: list[str] = Field(default_factory=lambda: ["capacity"])
    service_down_time: float = 60.0
    heartbeat_interval: float = 10.0
    quotas: VolumeQuotaSettings = VolumeQuotaSettings()
    # Cinder's osapi_max_limit.
    max_limit: int = Field(default=1000, ge=1)
    # `nimbus up` runs this many volume hosts (volume-1, ...).
    hosts: int = Field(default=1, ge=0, le=100)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NIMBUS_", env_nested_delimiter="__", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    state_dir: Path = DEFAULT_STATE_DIR
    # Where clients reach the API; defaults to http://host:port.
    public_url: str | None = None
    # Where a non-identity process finds identity (multi-node); defaults to the public URL.
    identity_url: str | None = None
    region: str = "RegionOne"
    transport_url: str = "memory://"
    database: DatabaseSettings = DatabaseSettings()
    identity: IdentitySettings = IdentitySettings()
    image: ImageSettings = ImageSettings()
    compute: ComputeSettings = ComputeSettings()
    network: NetworkSettings = NetworkSettings()
    volume: VolumeSettings = VolumeSettings()
    # `nimbus up` runs this many fake-driver compute hosts (fake-1, fake-2, ...).
    fake_hosts: int = Field(default=1, ge=0, le=100)
    # `nimbus up` also runs a QEMU compute host named after this machine (host_name): "auto"
    # when qemu-system-x86_64 is installed, "on" always (an error without it), "off" never.
    qemu_host: Literal["auto", "on", "off"] = "auto"
    # How many QEMU compute hosts that is: the first named host_name, the others
    # <host_name>-2, <host_name>-3, ... (each its own agent, instance directories and taps), so
    # that migrations between QEMU hosts run on one machine.
    qemu_hosts: int = Field(default=1, ge=1, le=16)
    policy_file: Path | None = None
    # The name this machine's services register under (os-services "host").
    host_name: str = Field(default_factory=lambda: __import__("socket").gethostname())
    log_level: str = "INFO"
    log_to_console: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def identity_base_url(self) -> str:
        return (self.identity_url or f"{self.base_url}/identity").rstrip("/")

    @property
    def database_url(self) -> str:
        if self.database.connection:
            return self.database.connection
        return f"sqlite+aiosqlite:///{self.state_dir.resolve() / 'nimbus.sqlite'}"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def token_key_dir(self) -> Path:
        return self.state_dir / "fernet-keys"

    @property
    def image_dir(self) -> Path:
        return self.state_dir / "images"

    @property
    def volume_dir(self) -> Path:
        return self.state_dir / "volumes"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML file named by NIMBUS_CONFIG, or <state_dir>/nimbus.toml."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("NIMBUS_CONFIG")
        if path is None:
            state = Path(os.environ.get("NIMBUS_STATE_DIR", str(DEFAULT_STATE_DIR)))
            candidate = state / "nimbus.toml"
            path = str(candidate) if candidate.exists() else None
        if path is None:
            return {}
        with open(path, "rb") as fh:
            return tomllib.load(fh)


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
