"""Identity through the real `openstack` CLI against `make up`, as a user would drive it."""

from __future__ import annotations

import json
import stat
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Cli, RunningCloud, clean_env
from tests.e2e.helpers import unique

pytestmark = pytest.mark.e2e

SERVICE_TYPES = {"identity", "compute", "image", "network", "block-storage", "placement"}
USER_PASSWORD = "e2e-Secret-pw-1"


def validate(cloud: RunningCloud, auth_token: str, subject: str, query: str = "") -> httpx.Response:
    return httpx.get(f"{cloud.url}/identity/v3/auth/tokens{query}", timeout=10,
                     headers={"X-Auth-Token": auth_token, "X-Subject-Token": subject})


def create_member(admin: Cli, project_name: str, user_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`project create`, `user create --project` and `role add ... member`: the usual onboarding."""
    project = admin.json("project", "create", "--description", "made by the e2e tests", project_name)
    user = admin.json("user", "create", "--password", USER_PASSWORD, "--project", project_name,
                      user_name)
    admin.run("role", "add", "--user", user_name, "--project", project_name, "member")
    return project, user


@pytest.fixture(scope="module")
def onboarded(admin_cli: Cli) -> dict[str, Any]:
    project, user = create_member(admin_cli, unique("e2e-project"), unique("e2e-user"))
    return {"project": project, "user": user}


@pytest.fixture(scope="module")
def user_cli(nimbus: RunningCloud, admin_cli: Cli, onboarded: dict[str, Any]) -> Cli:
    return admin_cli.as_user(nimbus.url, onboarded["user"]["name"], USER_PASSWORD,
                             onboarded["project"]["name"])


def test_make_up_prints_exports_and_writes_private_clouds_yaml(nimbus: RunningCloud) -> None:
    assert f"export OS_CLIENT_CONFIG_FILE={nimbus.clouds_yaml.resolve()} OS_CLOUD=nimbus" in nimbus.log
    assert stat.S_IMODE(nimbus.clouds_yaml.stat().st_mode) == 0o600
    assert "Traceback" not in nimbus.log


def test_token_issue_prints_a_valid_project_token(nimbus: RunningCloud, admin_cli: Cli) -> None:
    token = admin_cli.json("token", "issue")

    assert token["id"] and token["project_id"] and token["user_id"] and token["expires"]
    body = validate(nimbus, token["id"], token["id"]).json()["token"]
    assert body["user"]["name"] == "admin"
    assert body["project"]["id"] == token["project_id"]


def test_catalog_list_shows_every_service(nimbus: RunningCloud, admin_cli: Cli) -> None:
    catalog = admin_cli.json("catalog", "list")

    assert SERVICE_TYPES <= {entry["Type"] for entry in catalog}
    for entry in catalog:
        endpoints = json.dumps(entry["Endpoints"])
        assert "RegionOne" in endpoints and nimbus.url in endpoints, entry


def test_project_create_returns_the_enabled_project(admin_cli: Cli, onboarded: dict[str, Any]) -> None:
    project = onboarded["project"]

    assert project["enabled"] is True
    assert project["domain_id"] == "default"
    assert project["description"] == "made by the e2e tests"
    assert admin_cli.json("project", "show", project["name"])["id"] == project["id"]


def test_user_create_sets_default_project(admin_cli: Cli, onboarded: dict[str, Any]) -> None:
    user = onboarded["user"]

    assert user["enabled"] is True
    assert user["default_project_id"] == onboarded["project"]["id"]
    assert "password" not in user
    assert admin_cli.json("user", "show", user["name"])["id"] == user["id"]


def test_role_assignment_list_names_shows_the_grant(admin_cli: Cli, onboarded: dict[str, Any]) -> None:
    user, project = onboarded["user"], onboarded["project"]

    rows = admin_cli.json("role", "assignment", "list", "--names", "--user", user["name"])

    assert {"Role": "member", "User": f"{user['name']}@Default",
            "Project": f"{project['name']}@Default"}.items() <= rows[0].items()
    assert len(rows) == 1


def test_token_issued_as_new_user_works(nimbus: RunningCloud, user_cli: Cli,
                                        onboarded: dict[str, Any]) -> None:
    token = user_cli.json("token", "issue")

    assert token["user_id"] == onboarded["user"]["id"]
    assert token["project_id"] == onboarded["project"]["id"]
    resp = validate(nimbus, token["id"], token["id"], "?nocatalog")
    assert resp.status_code == 200, resp.text
    assert {"member", "reader"} <= {role["name"] for role in resp.json()["token"]["roles"]}
    assert {entry["Type"] for entry in user_cli.json("catalog", "list")} >= SERVICE_TYPES


def test_member_cannot_list_users(user_cli: Cli) -> None:
    result = user_cli.run("user", "list", check=False)

    assert result.returncode != 0
    assert "403" in result.stderr, result.stderr


def test_token_revoke_makes_token_fail(nimbus: RunningCloud, admin_cli: Cli) -> None:
    victim = admin_cli.json("token", "issue")["id"]
    admin_token = admin_cli.json("token", "issue")["id"]
    assert validate(nimbus, admin_token, victim).status_code == 200

    admin_cli.run("token", "revoke", victim)

    assert validate(nimbus, admin_token, victim).status_code == 404
    assert validate(nimbus, victim, victim).status_code == 401
    assert validate(nimbus, admin_token, admin_token).status_code == 200
    with_token = Cli({**clean_env(), "OS_AUTH_URL": f"{nimbus.url}/identity", "OS_AUTH_TYPE": "token",
                      "OS_TOKEN": victim, "OS_PROJECT_NAME": "admin", "OS_PROJECT_DOMAIN_NAME": "Default",
                      "OS_IDENTITY_API_VERSION": "3"})
    result = with_token.run("catalog", "list", check=False)
    assert result.returncode != 0
    assert "401" in result.stderr or "404" in result.stderr, result.stderr


# Last in the file: it restarts the session's cloud.
def test_second_make_up_keeps_users_password_and_token_keys(nimbus: RunningCloud, admin_cli: Cli) -> None:
    project, user = create_member(admin_cli, unique("e2e-keep"), unique("e2e-keeper"))
    user_cli = admin_cli.as_user(nimbus.url, user["name"], USER_PASSWORD, project["name"])
    old_token = user_cli.json("token", "issue")["id"]
    secrets = (nimbus.state_dir / "secrets.json").read_text()
    clouds = nimbus.clouds_yaml.read_text()

    nimbus.restart()

    assert (nimbus.state_dir / "secrets.json").read_text() == secrets
    assert nimbus.clouds_yaml.read_text() == clouds
    admin_token = admin_cli.json("token", "issue")["id"]
    assert validate(nimbus, admin_token, old_token).status_code == 200
    assert admin_cli.json("user", "show", user["name"])["id"] == user["id"]
    assert user_cli.json("token", "issue")["project_id"] == project["id"]
    rows = admin_cli.json("role", "assignment", "list", "--names", "--user", user["name"])
    assert [row["Role"] for row in rows] == ["member"]
