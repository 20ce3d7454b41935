"""The state directory: secrets, clouds.yaml; created private to the user."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from nimbus.core.config import Settings


def ensure_state_dir(settings: Settings) -> Path:
    path = settings.state_dir
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def load_or_create_secrets(settings: Settings) -> dict[str, str]:
    """Admin and service passwords, generated at first bootstrap and kept thereafter."""
    path = settings.state_dir / "secrets.json"
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in ("admin_password", "service_password"):
        if not data.get(key):
            data[key] = secrets.token_urlsafe(18)
            changed = True
    if settings.identity.service_password:
        data["service_password"] = settings.identity.service_password
    if changed:
        _write_private(path, json.dumps(data, indent=2))
    return data


def write_clouds_yaml(settings: Settings, admin_password: str) -> Path:
    path = settings.state_dir / "clouds.yaml"
    text = f"""clouds:
  nimbus:
    auth:
      auth_url: {settings.base_url}/identity
      username: admin
      password: {json.dumps(admin_password)}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: {settings.region}
    identity_api_version: 3
    interface: public
"""
    _write_private(path, text)
    return path


def service_password(settings: Settings) -> str:
    """The service user's password on a host that may lack secrets.json (a compute node):
    NIMBUS_IDENTITY__SERVICE_PASSWORD, else the state directory's secrets.json."""
    if settings.identity.service_password:
        return settings.identity.service_password
    path = settings.state_dir / "secrets.json"
    if path.exists():
        password = json.loads(path.read_text()).get("service_password")
        if password:
            return str(password)
    raise SystemExit("no service password: set NIMBUS_IDENTITY__SERVICE_PASSWORD or run "
                     "`nimbus bootstrap` with this state directory")
