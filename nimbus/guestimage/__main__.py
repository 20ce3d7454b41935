"""`python -m nimbus.guestimage [CACHE_DIR] [--rebuild]`: build the test guest and say how long it took."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nimbus.guestimage import GuestImageError, build_guest_image


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nimbus.guestimage", description=__doc__)
    default = Path(os.environ.get("NIMBUS_STATE_DIR", ".nimbus")) / "guest-image"
    parser.add_argument("cache_dir", nargs="?", type=Path, default=default,
                        help=f"where the image and its stamp go (default {default})")
    parser.add_argument("--rebuild", action="store_true", help="ignore the stamp and build again")
    args = parser.parse_args()
    try:
        image = build_guest_image(args.cache_dir, rebuild=args.rebuild)
    except GuestImageError as exc:
        sys.exit(f"error: {exc}")
    how = "cached" if image.cached else "built"
    print(f"guest image {how} in {image.seconds:.1f}s ({image.kernel_package}, "
          f"busybox {image.busybox_version})")
    for path in (image.kernel, image.initrd, image.disk):
        print(f"  {path}  {path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
