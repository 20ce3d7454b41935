"""Whether this machine can run the dataplane: root, and the programs it drives."""

from __future__ import annotations

import os
import shutil

PROGRAMS = ("ip", "dnsmasq", "iptables-restore", "nft", "conntrack")


def missing() -> list[str]:
    """What is lacking, in words for a message; empty when the dataplane can run here."""
    lacking = [] if os.geteuid() == 0 else ["root"]
    return lacking + [p for p in PROGRAMS if shutil.which(p) is None]
