"""Token validation as every API needs it.

    validator = RemoteTokenValidator(identity_url, service_credentials)
    ctx = await validator.validate(token)      # RequestContext, or raises Unauthorized

The identity service provides a local validator (same process, shared keys); every other
process validates against identity over REST and caches answers for a short while, as
keystonemiddleware does.
"""

from __future__ import annotations

import abc
import time

import httpx

from nimbus.core import errors
from nimbus.core.clients.service_token import ServiceCredentials, ServiceTokenSource
from nimbus.core.context import RequestContext


class TokenValidator(abc.ABC):
    @abc.abstractmethod
    async def validate(self, token: str) -> RequestContext:
        """The identity behind `token`; raises errors.Unauthorized if it is not valid now."""


class RemoteTokenValidator(TokenValidator):
    def __init__(self, identity_url: str, credentials: ServiceCredentials,
                 client: httpx.AsyncClient, *, cache_seconds: float = 30.0) -> None:
        self.identity_url = identity_url.rstrip("/")
        self.credentials = credentials
        self.client = client
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, RequestContext]] = {}
        self.service_token = ServiceTokenSource(identity_url, credentials, client)

    async def validate(self, token: str) -> RequestContext:
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit and hit[0] > now:
            return hit[1]
        resp = await self.client.get(
            f"{self.identity_url}/v3/auth/tokens",
            headers={"X-Auth-Token": await self.service_token.token(), "X-Subject-Token": token},
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
