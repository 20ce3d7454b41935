"""What the QEMU driver raises; each message says what went wrong on the host, for the fault.

    QemuError                 a guest operation failed (the message is the reason)
      QemuUnavailable         no usable qemu-system-x86_64 on this host (at agent start)
      BootFailed              the guest was started but cannot boot (bad image, QEMU exited)
"""

from __future__ import annotations


class QemuError(Exception):
    """A QEMU operation failed; str() is the reason the agent records."""


class QemuUnavailable(QemuError):
    pass


class BootFailed(QemuError):
    pass
