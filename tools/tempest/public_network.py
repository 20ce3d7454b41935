"""Print the id of the external network Tempest's router and floating IP tests use
(public_network_id), as DevStack's `public` network: created once per cloud, found by name.

    python3 tools/tempest/public_network.py URL ADMIN_PASSWORD
"""

import sys

from images import admin_token, request

NAME = "public"
CIDR = "172.24.4.0/24"


def main() -> None:
    url, password = sys.argv[1], sys.argv[2]
    token = admin_token(url, password)
    networks_url = f"{url}/network/v2.0/networks"
    _, found = request("GET", f"{networks_url}?name={NAME}&router:external=True", token)
    if found["networks"]:
        print(found["networks"][0]["id"])
        return
    _, created = request("POST", networks_url, token, body={"network": {
        "name": NAME, "router:external": True, "is_default": True}})
    network_id = created["network"]["id"]
    request("POST", f"{url}/network/v2.0/subnets", token, body={"subnet": {
        "name": f"{NAME}-subnet", "network_id": network_id, "ip_version": 4, "cidr": CIDR}})
    print(network_id)


if __name__ == "__main__":
    main()
