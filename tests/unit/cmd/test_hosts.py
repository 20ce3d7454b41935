from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nimbus.cmd import hosts
from nimbus.compute.virt.fake import FakeDriver
from nimbus.compute.virt.qemu import QemuDriver
from nimbus.core.config import load_settings

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None
                                or shutil.which("qemu-img") is None, reason="needs QEMU")


@needs_qemu
def test_qemu_hosts_run_side_by_side_with_their_own_instance_dirs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIMBUS_CONFIG", raising=False)
    monkeypatch.setenv("NIMBUS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NIMBUS_HOST_NAME", "box")
    monkeypatch.setenv("NIMBUS_QEMU_HOST", "on")
    monkeypatch.setenv("NIMBUS_QEMU_HOSTS", "3")
    monkeypatch.setenv("NIMBUS_FAKE_HOSTS", "1")
    drivers = hosts.up_drivers(load_settings())
    assert list(drivers) == ["box", "box-2", "box-3", "fake-1"]
    qemus = [d for d in drivers.values() if isinstance(d, QemuDriver)]
    assert [d.config.hostname for d in qemus] == ["box", "box-2", "box-3"]
    assert len({d.instances_dir for d in qemus}) == 3
    assert isinstance(drivers["fake-1"], FakeDriver)


def test_qemu_hosts_off_means_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIMBUS_CONFIG", raising=False)
    monkeypatch.setenv("NIMBUS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("NIMBUS_QEMU_HOST", "off")
    monkeypatch.setenv("NIMBUS_QEMU_HOSTS", "2")
    monkeypatch.setenv("NIMBUS_FAKE_HOSTS", "2")
    assert list(hosts.up_drivers(load_settings())) == ["fake-1", "fake-2"]


def test_qemu_hosts_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIMBUS_QEMU_HOSTS", "0")
    with pytest.raises(ValueError):
        load_settings()
