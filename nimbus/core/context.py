"""The request context: who is asking, for which project, under which request ids.

It travels with every REST call (as headers) and every RPC message (as a dict), and
the request ids are also kept in context variables so that every log line carries them.
"""

from __future__ import annotations

import contextvars
import dataclasses
import uuid
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nimbus_request_id", default=None)
global_request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "nimbus_global_request_id", default=None)


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


@dataclasses.dataclass(frozen=True)
class RequestContext:
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None          # set for domain-scoped tokens
    system_scope: str | None = None       # "all" for system-scoped tokens
    roles: tuple[str, ...] = ()
    request_id: str = dataclasses.field(default_factory=new_request_id)
    global_request_id: str | None = None
    auth_token: str | None = dataclasses.field(default=None, repr=False)
    expires_at: str | None = None
    audit_ids: tuple[str, ...] = ()
    microversion: tuple[int, int] | None = None
    is_service: bool = False

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def may_see(self, project_id: str | None) -> bool:
        """Whether this caller may see an object owned by `project_id`."""
        return self.is_admin or (project_id is not None and project_id == self.project_id)

    def replace(self, **changes: Any) -> RequestContext:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for RPC; the token stays out of it on purpose. Every field is a
        plain value or a tuple of them, so a shallow copy is enough (dataclasses.asdict's deep
        one cost more than the rest of an RPC call's packing)."""
        return {name: getattr(self, name) for name in _WIRE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestContext:
        values = {k: v for k, v in data.items() if k in _FIELDS}
        for key in ("roles", "audit_ids"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("microversion") is not None:
            values["microversion"] = tuple(values["microversion"])
        return cls(**values)

    @classmethod
    def admin(cls, **changes: Any) -> RequestContext:
        """A context for the cloud's own work (periodic tasks, bootstrap)."""
        return cls(roles=("admin", "member", "reader"), is_service=True, **changes)


_FIELDS = frozenset(f.name for f in dataclasses.fields(RequestContext))
_WIRE_FIELDS = tuple(sorted(_FIELDS - {"auth_token"}))


def bind_request_ids(ctx: RequestContext) -> None:
    """Make the context's request ids visible to logging for the current task."""
    request_id_var.set(ctx.request_id)
    global_request_id_var.set(ctx.global_request_id)


def outgoing_request_id_headers() -> dict[str, str]:
    """For a REST call to another service: our request's global id (or our own id), which the
    callee adopts as its global request id, so one request's lines share an id everywhere."""
    request_id = global_request_id_var.get() or request_id_var.get()
    return {"X-OpenStack-Request-ID": request_id} if request_id else {}
