"""Print the aliases the running cloud's `/network/v2.0/extensions` lists, comma-separated:
Tempest's [network-feature-enabled] api_extensions, so that it tests exactly what is offered.

    python3 tools/tempest/network_extensions.py URL ADMIN_PASSWORD
"""

import sys

from images import admin_token, request


def main(url: str, password: str) -> None:
    _, body = request("GET", f"{url}/network/v2.0/extensions", admin_token(url, password))
    print(",".join(sorted(ext["alias"] for ext in body["extensions"])))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
