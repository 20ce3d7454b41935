from __future__ import annotations

import json
from pathlib import Path

import pytest

from nimbus.core.context import RequestContext
from nimbus.core.policy import Enforcer, PolicyError, PolicyNotAuthorized

RULES = {
    "admin_required": "role:admin",
    "owner_or_admin": "rule:admin_required or (role:reader and project_id:%(project_id)s)",
    "not_admin": "not role:admin",
    "always": "@",
    "never": "!",
    "nested_target": "user_id:%(target.user.id)s",
}
READER = RequestContext(user_id="u1", project_id="p1", roles=("reader",))
ADMIN = RequestContext(user_id="a", project_id="p0", roles=("admin",))


def test_policy_role_and_project_scoping() -> None:
    enforcer = Enforcer(RULES)
    assert enforcer.allowed("owner_or_admin", READER, {"project_id": "p1"})
    assert not enforcer.allowed("owner_or_admin", READER, {"project_id": "p2"})
    assert enforcer.allowed("owner_or_admin", ADMIN, {"project_id": "p2"})


def test_policy_missing_target_value_never_matches() -> None:
    enforcer = Enforcer(RULES)
    assert not enforcer.allowed("owner_or_admin", READER, {})
    assert not enforcer.allowed("nested_target", RequestContext(roles=()), {})


def test_policy_not_always_never_and_dotted_targets() -> None:
    enforcer = Enforcer(RULES)
    assert enforcer.allowed("not_admin", READER) and not enforcer.allowed("not_admin", ADMIN)
    assert enforcer.allowed("always", READER) and not enforcer.allowed("never", ADMIN)
    assert enforcer.allowed("nested_target", READER, {"target": {"user": {"id": "u1"}}})


def test_policy_authorize_raises_403() -> None:
    with pytest.raises(PolicyNotAuthorized) as info:
        Enforcer(RULES).authorize("admin_required", READER)
    assert info.value.status == 403
    assert "admin_required" in info.value.message


def test_policy_override_file_replaces_a_default(tmp_path: Path) -> None:
    override = tmp_path / "policy.json"
    override.write_text(json.dumps({"admin_required": "role:reader"}))
    assert Enforcer(RULES, override).allowed("admin_required", READER)
    toml = tmp_path / "policy.toml"
    toml.write_text('admin_required = "!"\n')
    assert not Enforcer(RULES, toml).allowed("admin_required", ADMIN)


def test_policy_rejects_malformed_rules_and_unknown_names() -> None:
    with pytest.raises(PolicyError):
        Enforcer({"bad": "(role:admin"})
    with pytest.raises(PolicyError):
        Enforcer({"bad": "role"})
    with pytest.raises(PolicyError):
        Enforcer(RULES).allowed("no_such_rule", ADMIN)
