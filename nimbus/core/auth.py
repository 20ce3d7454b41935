"""Token validation as every API needs it.

    validator = RemoteTokenValidator(identity_url, service_credentials)
    ctx = await validator.validate(token)      # RequestContext, or raises Unauthorized

The identity service provides a local validator (same process, shared keys); every other
process validates against identity over REST and caches answers for a short while, as
keystonemiddleware does.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import time

import httpx

from nimbus.core import errors
from nimbus.core.context import RequestContext


class TokenValidator(abc.ABC):
    @abc.abstractmethod
    async def validate(self, token: str) -> RequestContext:
        """The identity behind `token`; raises errors.Unauthorized if it is not valid now."""


@dataclasses.dataclass(frozen=True)
class ServiceCredentials:
    username: str
    password: str
    project_name: str = "service"
    domain_id: str = "default"


class RemoteTokenValidator(TokenValidator):
    def __init__(self, identity_url: str, credentials: ServiceCredentials,
                 client: httpx.AsyncClient, *, cache_seconds: float = 30.0) -> None:
        self.identity_url = identity_url.rstrip("/")
        self.credentials = credentials
        self.client = client
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, RequestContext]] = {}
        self._service_token: tuple[float, str] | None = None
        self._lock = asyncio.Lock()

    async def _own_token(self) -> str:
        async with self._lock:
            if self._service_token and self._service_token[0] > time.monotonic():
                return self._service_token[1]
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": self.credentials.username, "password": self.credentials.password,
                "domain": {"id": self.credentials.domain_id}}}},
                "scope": {"project": {"name": self.credentials.project_name,
                                      "domain": {"id": self.credentials.domain_id}}}}}
            resp = await self.client.post(f"{self.identity_url}/v3/auth/tokens", json=body,
                                          params={"nocatalog": "1"}, timeout=30)
            if resp.status_code != 201:
                raise errors.ServiceUnavailable("The service could not authenticate to identity.")
            token = resp.headers["X-Subject-Token"]
            self._service_token = (time.monotonic() + 600, token)
            return token

    async def validate(self, token: str) -> RequestContext:
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit and hit[0] > now:
            return hit[1]
        resp = await self.client.get(
            f"{self.identity_url}/v3/auth/tokens",
            headers={"X-Auth-Token": await self._own_token(), "X-Subject-Token": token},
            params={"nocatalog": "1"}, timeout=30)
        if resp.status_code == 404 or resp.status_code == 401:
            raise errors.Unauthorized()
        if resp.status_code != 200:
            raise errors.ServiceUnavailable("Identity could not validate the token.")
        ctx = context_from_token_body(resp.json()["token"], token)
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[token] = (now + self.cache_seconds, ctx)
        return ctx


def context_from_token_body(body: dict[str, object], token: str) -> RequestContext:
    """Build a RequestContext from a Keystone v3 token body."""
    user = body.get("user") or {}
    project = body.get("project") or {}
    domain = body.get("domain") or {}
    assert isinstance(user, dict) and isinstance(project, dict) and isinstance(domain, dict)
    roles = body.get("roles") or []
    assert isinstance(roles, list)
    system = body.get("system")
    return RequestContext(
        user_id=user.get("id"), user_name=user.get("name"),
        user_domain_id=(user.get("domain") or {}).get("id"),
        project_id=project.get("id"), project_name=project.get("name"),
        project_domain_id=(project.get("domain") or {}).get("id"),
        domain_id=domain.get("id"),
        system_scope="all" if isinstance(system, dict) and system.get("all") else None,
        roles=tuple(r["name"] for r in roles),
        auth_token=token, expires_at=str(body.get("expires_at")),
        audit_ids=tuple(body.get("audit_ids") or ()),  # type: ignore[arg-type]
    )
