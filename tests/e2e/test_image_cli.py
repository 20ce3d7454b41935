"""Images through the real `openstack` CLI against `make up`, in the order a user would go."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Cli, RunningCloud
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e

MEMBER_PASSWORD = "e2e-Image-pw-1"


def disk_image(path: Path) -> bytes:
    """A real qcow2 (64 MiB virtual) when qemu-img is here, else 3 MiB of random bytes."""
    qemu_img = shutil.which("qemu-img")
    if qemu_img:
        subprocess.run([qemu_img, "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
        with path.open("ab") as fh:  # data past the header, so the checksum means something
            fh.write(os.urandom(1 << 20))
    else:
        path.write_bytes(os.urandom(3 << 20))
    return path.read_bytes()


@pytest.fixture(scope="module")
def member(nimbus: RunningCloud, admin_cli: Cli) -> dict[str, Any]:
    """A second project with a member user: the one the image is shared with."""
    project = admin_cli.json("project", "create", unique("e2e-img-project"))
    user = admin_cli.json("user", "create", "--password", MEMBER_PASSWORD, "--project",
                          project["name"], unique("e2e-img-user"))
    admin_cli.run("role", "add", "--user", user["name"], "--project", project["name"], "member")
    cli = admin_cli.as_user(nimbus.url, user["name"], MEMBER_PASSWORD, project["name"])
    return {"project": project, "user": user, "cli": cli}


def test_image_lifecycle_through_the_cli(admin_cli: Cli, member: dict[str, Any],
                                         tmp_path: Path) -> None:
    source, saved = tmp_path / "F.qcow2", tmp_path / "G.qcow2"
    content = disk_image(source)
    name = unique("e2e-image")

    created = admin_cli.json("image", "create", "--disk-format", "qcow2", "--container-format",
                             "bare", "--file", str(source), name)
    assert created["name"] == name
    assert created["status"] == "active"
    image_id = created["id"]

    listed = admin_cli.json("image", "list")
    assert {"ID": image_id, "Name": name, "Status": "active"} in listed

    shown = admin_cli.json("image", "show", image_id)
    assert shown["checksum"] == hashlib.md5(content).hexdigest()
    assert shown["size"] == len(content)
    assert shown["disk_format"] == "qcow2" and shown["container_format"] == "bare"
    assert shown["visibility"] == "shared"
    if shutil.which("qemu-img"):
        assert shown["virtual_size"] == 64 << 20

    admin_cli.run("image", "set", "--property", "k=v", image_id)
    assert admin_cli.json("image", "show", image_id)["properties"]["k"] == "v"

    admin_cli.run("image", "save", "--file", str(saved), image_id)
    assert saved.read_bytes() == content

    project_id = member["project"]["id"]
    added = admin_cli.json("image", "add", "project", image_id, project_id)
    assert added["status"] == "pending"
    member_cli: Cli = member["cli"]
    assert image_id not in {row["ID"] for row in member_cli.json("image", "list")}

    member_cli.run("image", "set", "--accept", image_id)
    assert image_id in {row["ID"] for row in member_cli.json("image", "list")}
    members = admin_cli.json("image", "member", "list", image_id)
    assert [(m["Member ID"], m["Status"]) for m in members] == [(project_id, "accepted")]
    copy = tmp_path / "member-copy"
    member_cli.run("image", "save", "--file", str(copy), image_id)
    assert copy.read_bytes() == content

    refused = member_cli.run("image", "delete", image_id, check=False)
    assert refused.returncode != 0

    admin_cli.run("image", "delete", image_id)
    result = admin_cli.run("image", "show", image_id, check=False)
    assert result.returncode != 0 and "No Image found" in (result.stderr + result.stdout)
