"""Token validation inside the identity process: the shared keys, no network hop."""

from __future__ import annotations

from nimbus.core.auth import TokenValidator
from nimbus.core.context import RequestContext
from nimbus.identity.deps import IdentityDeps
from nimbus.identity.service import tokens


class LocalTokenValidator(TokenValidator):
    def __init__(self, deps: IdentityDeps) -> None:
        self.deps = deps

    async def validate(self, token: str) -> RequestContext:
        validated = await tokens.validate(self.deps, token)
        return validated.context(token)
