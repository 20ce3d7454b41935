"""Keypairs through /compute/v2.1/os-keypairs (Nova's contract, by microversion)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from tests.functional.compute.helpers import ssh_public_key
from tests.functional.compute.users import member_token
from tests.functional.conftest import Cloud

URL = "/compute/v2.1/os-keypairs"


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


async def test_import_list_show_delete_at_2_1(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    public_key, fingerprint = ssh_public_key()

    created = await cloud.client.post(URL, headers=headers,
                                      json={"keypair": {"name": "k1", "public_key": public_key}})
    listed = await cloud.client.get(URL, headers=headers)
    shown = await cloud.client.get(f"{URL}/k1", headers=headers)
    deleted = await cloud.client.delete(f"{URL}/k1", headers=headers)

    assert created.status_code == 200
    assert created.json()["keypair"]["fingerprint"] == fingerprint
    assert "private_key" not in created.json()["keypair"] and "type" not in created.json()["keypair"]
    assert listed.json() == {"keypairs": [{"keypair": {
        "name": "k1", "public_key": public_key, "fingerprint": fingerprint}}]}
    assert shown.json()["keypair"]["user_id"] == created.json()["keypair"]["user_id"]
    assert deleted.status_code == 202
    assert (await cloud.client.get(f"{URL}/k1", headers=headers)).status_code == 404


async def test_generated_keypair_returns_private_key_once_at_2_2(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), **mv("2.2")}

    created = await cloud.client.post(URL, headers=headers, json={"keypair": {"name": "gen"}})

    assert created.status_code == 201
    body = created.json()["keypair"]
    assert body["type"] == "ssh"
    private = serialization.load_pem_private_key(body["private_key"].encode(), password=None)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    assert body["public_key"].startswith(derived)
    shown = await cloud.client.get(f"{URL}/gen", headers=headers)
    assert "private_key" not in shown.json()["keypair"]
    assert (await cloud.client.delete(f"{URL}/gen", headers=headers)).status_code == 204


async def test_bad_keypairs_are_4xx(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), **mv("2.2")}
    public_key, _ = ssh_public_key()
    await cloud.client.post(URL, headers=headers, json={"keypair": {"name": "taken",
                                                                    "public_key": public_key}})
    cases = [
        ({"name": "taken", "public_key": public_key}, 409),
        ({"name": "bad/name", "public_key": public_key}, 400),
        ({"name": "k", "public_key": "ssh-rsa not-base64"}, 400),
        ({"name": "k", "public_key": public_key, "type": "pgp"}, 400),
        ({"name": "", "public_key": public_key}, 400),
        ({"name": "k", "public_key": public_key, "color": "blue"}, 400),
    ]
    for body, status in cases:
        resp = await cloud.client.post(URL, headers=headers, json={"keypair": body})
        assert resp.status_code == status, (body, resp.text)
    names = [k["keypair"]["name"] for k in (await cloud.client.get(URL, headers=headers)).json()["keypairs"]]
    assert names == ["taken"]


async def test_public_key_is_required_from_2_92(cloud: Cloud) -> None:
    headers = await cloud.admin_headers()
    resp = await cloud.client.post(URL, headers={**headers, **mv("2.79")},
                                   json={"keypair": {"name": "x", "type": "ssh"}})
    assert resp.status_code == 201  # 2.79 still generates
    too_new = await cloud.client.post(URL, headers={**headers, **mv("2.92")},
                                      json={"keypair": {"name": "y"}})
    assert too_new.status_code == 406  # beyond the advertised range


async def test_keypairs_belong_to_their_user(cloud: Cloud) -> None:
    admin = {**await cloud.admin_headers(), **mv("2.10")}
    member = {"X-Auth-Token": await member_token(cloud), **mv("2.10")}
    public_key, _ = ssh_public_key()
    created = await cloud.client.post(URL, headers=member,
                                      json={"keypair": {"name": "mine", "public_key": public_key}})
    owner = created.json()["keypair"]["user_id"]

    admin_own = await cloud.client.get(URL, headers=admin)
    admin_for_user = await cloud.client.get(f"{URL}?user_id={owner}", headers=admin)
    member_for_admin = await cloud.client.get(f"{URL}?user_id=someone-else", headers=member)

    assert "mine" not in {k["keypair"]["name"] for k in admin_own.json()["keypairs"]}
    assert [k["keypair"]["name"] for k in admin_for_user.json()["keypairs"]] == ["mine"]
    assert member_for_admin.status_code == 403


async def test_keypair_pagination_from_2_35(cloud: Cloud) -> None:
    headers = {**await cloud.admin_headers(), **mv("2.35")}
    for name in ("a", "b", "c"):
        public_key, _ = ssh_public_key()
        await cloud.client.post(URL, headers=headers, json={"keypair": {"name": name,
                                                                        "public_key": public_key}})
    page = await cloud.client.get(f"{URL}?limit=2", headers=headers)
    rest = await cloud.client.get(f"{URL}?limit=2&marker=b", headers=headers)

    assert [k["keypair"]["name"] for k in page.json()["keypairs"]] == ["a", "b"]
    assert "marker=b" in page.json()["keypairs_links"][0]["href"]
    assert [k["keypair"]["name"] for k in rest.json()["keypairs"]] == ["c"]
