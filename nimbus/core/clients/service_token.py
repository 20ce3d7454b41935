"""A service's own token, for its REST calls to other services (as keystoneauth gives Nova)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx

from nimbus.core import errors

# Renew well before identity's default one-hour expiry.
_TOKEN_LIFETIME = 600.0


@dataclasses.dataclass(frozen=True)
class ServiceCredentials:
    username: str
    password: str
    project_name: str = "service"
    domain_id: str = "default"


class ServiceTokenSource:
    def __init__(self, identity_url: str, credentials: ServiceCredentials,
                 client: httpx.AsyncClient) -> None:
        self.identity_url = identity_url.rstrip("/")
        self.credentials = credentials
        self.client = client
        self._token: tuple[float, str] | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid project-scoped token of the service user; one request per renewal."""
        async with self._lock:
            if self._token and self._token[0] > time.monotonic():
                return self._token[1]
            creds = self.credentials
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": creds.username, "password": creds.password,
                "domain": {"id": creds.domain_id}}}},
                "scope": {"project": {"name": creds.project_name,
                                      "domain": {"id": creds.domain_id}}}}}
            try:
                resp = await self.client.post(f"{self.identity_url}/v3/auth/tokens", json=body,
                                              params={"nocatalog": "1"}, timeout=30)
            except httpx.HTTPError as exc:
                raise errors.ServiceUnavailable("Identity is unreachable.") from exc
            if resp.status_code != 201:
                raise errors.ServiceUnavailable("The service could not authenticate to identity.")
            token = resp.headers["X-Subject-Token"]
            self._token = (time.monotonic() + _TOKEN_LIFETIME, token)
            return token

    def forget(self) -> None:
        """Drop the cached token (after a 401: it was revoked or the keys rotated)."""
        self._token = None
