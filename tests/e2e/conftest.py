"""`make up` as a subprocess on a free port and a temp state dir, driven by the real CLI.

The session shares one cloud; `RunningCloud.restart()` stops it with SIGINT, as Ctrl-C would,
and starts `make up` again on the same state directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.dataplane import names

ROOT = Path(__file__).resolve().parents[2]
OPENSTACK = ROOT / ".venv" / "bin" / "openstack"
READY = "Nimbus is ready at"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
CLI_TIMEOUT = 60.0
FAKE_HOSTS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    """This environment without OS_* (they would steer the CLI) and make's own variables."""
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
    return {k: v for k, v in os.environ.items() if not k.startswith("OS_") and k not in drop}


@dataclasses.dataclass
class RunningCloud:
    """One `make up` process group; its output is kept for failure messages."""

    port: int
    state_dir: Path
    process: subprocess.Popen[str] | None = None
    output: list[str] = dataclasses.field(default_factory=list)
    # NIMBUS_* settings on top of the defaults below (a QEMU host, say).
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    start_timeout: float = START_TIMEOUT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def clouds_yaml(self) -> Path:
        return self.state_dir / "clouds.yaml"

    @property
    def cli_env(self) -> dict[str, str]:
        """What the README tells users to export, on top of a clean environment."""
        return {**clean_env(), "OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": "nimbus"}

    def start(self) -> None:
        env = {**clean_env(), "NIMBUS_PORT": str(self.port), "NIMBUS_STATE_DIR": str(self.state_dir),
               "NIMBUS_IDENTITY__BCRYPT_ROUNDS": "4", "NIMBUS_FAKE_HOSTS": str(FAKE_HOSTS),
               # Fake hosts only, unless a test asks for QEMU: real guests boot for seconds.
               "NIMBUS_QEMU_HOST": "off",
               "PYTHONUNBUFFERED": "1", **self.env}
        self.output = []
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "up"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process, lines), daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError(f"no ready line within {self.start_timeout:.0f} s:\n{self.log}") \
                    from None
            if line is None:
                raise AssertionError(f"make up exited with {self.process.wait()}:\n{self.log}")
            if READY in line:
                assert self.url in line, line
                return

    def _pump(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self) -> int | None:
        """SIGINT to the process group, as Ctrl-C; SIGKILL if it hangs. Returns the exit code."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                return process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise AssertionError(f"make up ignored SIGINT for {STOP_TIMEOUT:.0f} s:\n{self.log}") \
                    from None
        return process.returncode

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def log(self) -> str:
        return "".join(self.output[-60:])


def pids_of(state_dir: Path, program: bytes = b"") -> list[int]:
    """Live processes whose command line names this cloud's state directory (and `program`)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if program in cmdline and str(state_dir).encode() in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def qemu_pids(state_dir: Path) -> list[int]:
    return pids_of(state_dir, b"qemu-system")


def remove_dataplane(state_dir: Path) -> None:
    """What a failed test's networks left of this cloud in the kernel: the DHCP servers, their
    namespaces and the cloud's host namespace (a passing test deletes its networks itself)."""
    for pid in pids_of(state_dir, b"dnsmasq"):
        os.kill(pid, signal.SIGKILL)
    dhcp_dirs = state_dir / "dhcp"
    namespaces = [names.dhcp_namespace(d.name) for d in dhcp_dirs.iterdir()] if dhcp_dirs.is_dir() else []
    for namespace in [*namespaces, names.host_namespace(state_dir)]:
        subprocess.run(["ip", "netns", "delete", namespace], capture_output=True)


@contextlib.contextmanager
def qemu_cloud(state_dir: Path, **env: str) -> Iterator[RunningCloud]:
    """`make up` with QEMU hosts only (NIMBUS_* `env` on top). Guests outlive the cloud by
    design; a failed test must not leave its own behind, so they are killed at the end."""
    running = RunningCloud(port=free_port(), state_dir=state_dir,
                           env={"NIMBUS_QEMU_HOST": "on", "NIMBUS_FAKE_HOSTS": "0", **env},
                           start_timeout=600.0)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for pid in qemu_pids(state_dir):
            os.kill(pid, signal.SIGKILL)
        remove_dataplane(state_dir)


@pytest.fixture(scope="session")
def nimbus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = RunningCloud(port=free_port(), state_dir=tmp_path_factory.mktemp("e2e") / "state")
    cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()


@dataclasses.dataclass(frozen=True)
class Cli:
    """The real `openstack` CLI with one set of OS_* variables."""

    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """On failure with check, the assertion shows the CLI's stderr."""
        result = subprocess.run([str(OPENSTACK), *args], env=self.env, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=CLI_TIMEOUT)
        if check:
            assert result.returncode == 0, (
                f"openstack {' '.join(args)} exited {result.returncode}:\n{result.stderr}{result.stdout}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-f", "json").stdout)

    def as_user(self, url: str, username: str, password: str, project: str) -> Cli:
        """The CLI with a user's password credentials instead of the admin's clouds.yaml."""
        return Cli({**clean_env(), "OS_AUTH_URL": f"{url}/identity", "OS_IDENTITY_API_VERSION": "3",
                    "OS_USERNAME": username, "OS_PASSWORD": password, "OS_PROJECT_NAME": project,
                    "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"})


@pytest.fixture(scope="session")
def admin_cli(cli_env: dict[str, str]) -> Cli:
    """The CLI with OS_CLIENT_CONFIG_FILE and OS_CLOUD=nimbus, as `make up` prints them."""
    return Cli(cli_env)


@pytest.fixture(scope="session")
def cli_env(nimbus: RunningCloud) -> dict[str, str]:
    """OS_CLIENT_CONFIG_FILE and OS_CLOUD=nimbus on a clean environment."""
    return nimbus.cli_env


@pytest.fixture(scope="module")
def image(admin_cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small public raw image, one per module (a module may define its own instead)."""
    path: Path = tmp_path_factory.mktemp("img") / "disk.raw"
    path.write_bytes(b"\x00nimbus e2e disk\x00" * 4096)
    created = admin_cli.json("image", "create", "--disk-format", "raw", "--container-format", "bare",
                             "--file", str(path), "--public", f"e2e-image-{uuid.uuid4().hex[:8]}")
    image_id: str = created["id"]
    return image_id
