#!/usr/bin/env python3
"""`make up`: from a bare machine to the all-in-one cloud running in the foreground.

    python3 tools/up.py                                # install if needed, then `nimbus up`
    python3 tools/up.py --install-only --extras test   # what `make test` and `make lint` use

It runs in two stages. Under the system python3 (standard library only) it installs the apt
packages a machine lacks, creates `.venv` and puts `rich` in it; then it re-executes itself under
`.venv/bin/python`, installs the project with progress (skipped when the stamp in `.venv` holds
the sha256 of pyproject.toml, so a second `make up` starts in seconds) and finally execs
`.venv/bin/nimbus up`, which prints its own progress and the ready line. Exec, not a child
process, so that Ctrl-C and SIGTERM reach the cloud directly.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".nimbus-installed.json"
INSTALL_LOG = VENV / "install.log"
MIN_PYTHON = (3, 11)


@dataclasses.dataclass(frozen=True)
class AptPackage:
    """A Debian package the cloud needs, and how to tell it is already there."""

    name: str
    why: str
    present: Callable[[], bool]
    # Optional ones are installed when we are root; without them their feature is skipped.
    optional: bool = False


def _has_venv() -> bool:
    # Debian splits ensurepip out of python3 into python3-venv; without it `-m venv` fails.
    return all(importlib.util.find_spec(m) is not None for m in ("venv", "ensurepip"))


# Later services add theirs here (qemu-system-x86, dnsmasq, ...).
APT_PACKAGES: list[AptPackage] = [
    AptPackage("python3-venv", "python3 -m venv", _has_venv),
    AptPackage("qemu-utils", "qemu-img info: the virtual size of uploaded disk images",
               lambda: shutil.which("qemu-img") is not None),
    # The network dataplane (nimbus/dataplane): bridges, DHCP, security groups in namespaces.
    # dnsmasq-base, not dnsmasq: the latter also starts a DNS server on the host.
    AptPackage("dnsmasq-base", "DHCP for networks", lambda: shutil.which("dnsmasq") is not None,
               optional=True),
    AptPackage("iptables", "security groups (stateful, through br_netfilter)",
               lambda: shutil.which("iptables-restore") is not None, optional=True),
    AptPackage("nftables", "anti-spoofing on the bridges", lambda: shutil.which("nft") is not None,
               optional=True),
    AptPackage("conntrack", "flows a changed security group no longer allows are cut",
               lambda: shutil.which("conntrack") is not None, optional=True),
    # A QEMU compute host (nimbus/compute/virt/qemu) and the test guest image it offers
    # (nimbus/guestimage); without them `nimbus up` runs fake hosts only.
    AptPackage("qemu-system-x86", "real guests on a QEMU compute host",
               lambda: shutil.which("qemu-system-x86_64") is not None, optional=True),
    AptPackage("syslinux", "the test guest's boot loader", lambda: shutil.which("syslinux") is not None,
               optional=True),
    AptPackage("syslinux-common", "the test guest's MBR code",
               lambda: Path("/usr/lib/syslinux/mbr/mbr.bin").exists(), optional=True),
    AptPackage("mtools", "the test guest's FAT partition", lambda: shutil.which("mcopy") is not None,
               optional=True),
    AptPackage("dosfstools", "the test guest's FAT partition",
               lambda: shutil.which("mkfs.fat") is not None, optional=True),
    AptPackage("fdisk", "the test guest's partition table", lambda: shutil.which("sfdisk") is not None,
               optional=True),
]


def say(text: str) -> None:
    print(text, flush=True)


def fail(text: str) -> None:
    print(f"error: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


# -- stage 1: the system python, standard library only ------------------------------------


def install_apt_packages() -> None:
    missing = [p for p in APT_PACKAGES if not p.present()]
    if os.geteuid() != 0 and any(p.optional for p in missing):
        skipped = [p for p in missing if p.optional]
        say(f"skipping {' '.join(p.name for p in skipped)} (not root), so no "
            f"{'; no '.join(sorted({p.why for p in skipped}))}")
        missing = [p for p in missing if not p.optional]
    if not missing:
        return
    names = " ".join(p.name for p in missing)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        fail(f"missing system packages ({names}); install them with: sudo apt-get install -y {names}")
    say(f"installing system packages: {names}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    *(p.name for p in missing)], check=True, env=env, stdin=subprocess.DEVNULL)
    still = [p.name for p in missing if not p.present()]
    if still:
        fail(f"{' '.join(still)} installed but {sys.executable} still lacks it; "
             "is python3 the Debian one?")


def create_venv() -> None:
    # A venv whose python vanished, or one left without pip by a failed first attempt, is rebuilt.
    if VENV_PYTHON.exists() and (VENV / "bin" / "pip").exists():
        return
    say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)


def pinned(requirement: str) -> str:
    """The pyproject pin for one dependency, e.g. 'rich==15.0.0'."""
    import tomllib  # after the version check: new in 3.11

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        if re.split(r"[\s=<>!~\[;]", dep, maxsplit=1)[0].lower() == requirement:
            return str(dep)
    return requirement


def ensure_rich() -> None:
    probe = subprocess.run([str(VENV_PYTHON), "-c", "import rich"], capture_output=True)
    if probe.returncode == 0:
        return
    say("installing rich into the venv (for progress)")
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    pinned("rich")], check=True, stdin=subprocess.DEVNULL)


def stage_system(argv: list[str]) -> None:
    if sys.version_info < MIN_PYTHON:
        fail(f"Nimbus needs Python {'.'.join(map(str, MIN_PYTHON))}+; "
             f"{sys.executable} is {sys.version.split()[0]}")
    install_apt_packages()
    create_venv()
    ensure_rich()
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), str(Path(__file__).resolve()), *argv])


# -- stage 2: the venv's python, with rich ------------------------------------------------


def pyproject_sha() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def install_needed(extras: list[str]) -> bool:
    if not (VENV / "bin" / "nimbus").exists():
        return True
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return True
    return stamp.get("pyproject") != pyproject_sha() or not set(extras) <= set(stamp.get("extras", []))


# pip's lines worth showing as the progress description.
_PIP_PROGRESS = re.compile(r"^(Collecting|Downloading|Building|Installing collected|"
                           r"Successfully installed|Obtaining)")


def install_project(extras: list[str]) -> None:
    """`pip install -e .[extras]`, showing pip's current step; writes the stamp on success."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(highlight=False)
    target = f".[{','.join(extras)}]" if extras else "."
    started = time.monotonic()
    cmd = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
           "--progress-bar", "off", "-e", target]
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress, INSTALL_LOG.open("w") as log:
        task = progress.add_task(escape(f"installing the project (pip install -e '{target}')"))
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if _PIP_PROGRESS.match(line):
                progress.update(task, description=escape(f"pip: {line.strip()[:100]}"))
        rc = proc.wait()
    if rc != 0:
        tail = INSTALL_LOG.read_text().splitlines()[-25:]
        console.print("\n".join(tail), markup=False, highlight=False)
        console.print(f"[red]✗[/] pip install failed (exit {rc}); full log in {INSTALL_LOG}")
        sys.exit(rc)
    STAMP.write_text(json.dumps({"pyproject": pyproject_sha(), "extras": sorted(extras)}))
    console.print(f"[green]✓[/] project installed ({escape(target)}) in {time.monotonic() - started:.0f} s")


@dataclasses.dataclass(frozen=True)
class Step:
    title: str
    needed: Callable[[], bool]
    run: Callable[[], None]


def stage_venv(args: argparse.Namespace) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    steps = [
        Step("project installed", lambda: install_needed(args.extras),
             lambda: install_project(args.extras)),
    ]
    for step in steps:
        if step.needed():
            step.run()
        else:
            console.print(f"[green]✓[/] {step.title} (up to date)")
    if args.install_only:
        return
    nimbus = VENV / "bin" / "nimbus"
    sys.stdout.flush()
    os.execv(nimbus, [str(nimbus), "up"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--install-only", action="store_true", help="install, do not start the cloud")
    parser.add_argument("--extras", type=lambda s: [e for e in s.split(",") if e], default=[],
                        help="optional dependency groups to install too, e.g. 'test'")
    args = parser.parse_args()
    os.chdir(ROOT)
    if Path(sys.prefix).resolve() != VENV.resolve():
        stage_system(sys.argv[1:])
    else:
        stage_venv(args)


if __name__ == "__main__":
    main()
