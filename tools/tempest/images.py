"""Print the ids of the two public images Tempest's compute tests boot (image_ref, image_ref_alt).

DevStack uploads CirrOS for this; the fake driver boots any bytes, so each image here is one
MiB of zeros in raw format. They are created once per cloud and found again by name.

    python3 tools/tempest/images.py URL ADMIN_PASSWORD
"""

import json
import sys
import urllib.request
from email.message import Message
from typing import Any

NAMES = ("tempest-image", "tempest-image-alt")
SIZE = 1 << 20


def request(method: str, url: str, token: str | None = None, body: Any = None,
            data: bytes | None = None, content_type: str = "application/json",
            ) -> tuple[Message, Any]:
    headers = {"Content-Type": content_type}
    if token:
        headers["X-Auth-Token"] = token
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req) as reply:
        raw = reply.read()
        return reply.headers, json.loads(raw) if raw else None


def admin_token(url: str, password: str) -> str:
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    user = {"name": "admin", "domain": {"name": "Default"}, "password": password}
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": scope}}
    headers, _ = request("POST", f"{url}/identity/v3/auth/tokens", body=auth)
    return headers["X-Subject-Token"]


def ensure_image(images_url: str, token: str, name: str) -> str:
    _, found = request("GET", f"{images_url}?name={name}&visibility=public", token)
    active = [image["id"] for image in found["images"] if image["status"] == "active"]
    if active:
        return str(active[0])
    _, image = request("POST", images_url, token, body={
        "name": name, "visibility": "public", "disk_format": "raw", "container_format": "bare"})
    request("PUT", f"{images_url}/{image['id']}/file", token, data=bytes(SIZE),
            content_type="application/octet-stream")
    return str(image["id"])


def main() -> None:
    url, password = sys.argv[1], sys.argv[2]
    token = admin_token(url, password)
    print(" ".join(ensure_image(f"{url}/image/v2/images", token, name) for name in NAMES))


if __name__ == "__main__":
    main()
