"""The Nimbus test guest: a tiny Linux built from Debian packages, for the QEMU driver and its tests.

    image = build_guest_image(state_dir / "guest-image")   # cached after the first build
    qemu-system-x86_64 -drive file=image.disk,if=virtio ...   # or -kernel image.kernel -initrd ...

No loop devices, no mounts, no root: see build.py, disk.py and init.sh.
"""

from nimbus.guestimage.build import KERNEL_CMDLINE, GuestImage, build_guest_image
from nimbus.guestimage.errors import GuestImageError

# What the guest prints on its serial console once it has booted.
LOGIN_MARKER = "nimbus-guest login:"

__all__ = ["KERNEL_CMDLINE", "LOGIN_MARKER", "GuestImage", "GuestImageError", "build_guest_image"]
