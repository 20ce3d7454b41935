"""The Debian packages the guest is made of: which version, fetched with `apt-get download`."""

from __future__ import annotations

from pathlib import Path

from nimbus.guestimage.errors import GuestImageError, run

# The meta-package follows Debian's current cloud kernel; its one dependency names the real one.
KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"


def kernel_package() -> str:
    """The versioned kernel package (`linux-image-<abi>-cloud-amd64`) apt would install now."""
    out = run(["apt-cache", "depends", "--important", KERNEL_META_PACKAGE])
    for line in out.splitlines():
        kind, _, name = line.strip().partition(": ")
        if kind == "Depends" and name.startswith("linux-image-") and name.endswith("-cloud-amd64"):
            return name
    raise GuestImageError(
        f"apt knows no kernel behind {KERNEL_META_PACKAGE}; is deb.debian.org in the apt sources "
        "and `apt-get update` done?")


def download(names: list[str], into: Path) -> dict[str, Path]:
    """Fetch the candidate .deb of each package into `into`, reusing one already there."""
    into.mkdir(parents=True, exist_ok=True)
    wanted = _candidate_versions(names)
    missing = [name for name, version in wanted.items() if _deb_path(into, name, version) is None]
    if missing:
        # As root apt's _apt sandbox user cannot write to an arbitrary directory; root can.
        run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root",
             *(f"{name}={wanted[name]}" for name in missing)], cwd=into)
    found: dict[str, Path] = {}
    for name, version in wanted.items():
        path = _deb_path(into, name, version)
        if path is None:
            raise GuestImageError(f"apt-get download left no .deb for {name} {version} in {into}")
        found[name] = path
    return found


def extract(deb: Path, into: Path) -> None:
    """Unpack a .deb's files (no maintainer scripts run, no root needed)."""
    into.mkdir(parents=True, exist_ok=True)
    run(["dpkg-deb", "-x", str(deb), str(into)])


def _candidate_versions(names: list[str]) -> dict[str, str]:
    # One apt-cache run for all: each takes seconds on a loaded machine.
    versions: dict[str, str] = {}
    package = ""
    for line in run(["apt-cache", "policy", *names]).splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            package = line[:-1]
        key, _, value = line.strip().partition(": ")
        if key == "Candidate" and value != "(none)":
            versions[package] = value
    missing = [name for name in names if name not in versions]
    if missing:
        raise GuestImageError(f"apt has no candidate for {' '.join(missing)}")
    return versions


def _deb_path(directory: Path, name: str, version: str) -> Path | None:
    # apt-get download writes name_version_arch.deb with the epoch's ':' escaped as %3a.
    escaped = version.replace(":", "%3a")
    matches = sorted(directory.glob(f"{name}_{escaped}_*.deb"))
    return matches[0] if matches else None
