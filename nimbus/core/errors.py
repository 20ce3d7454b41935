"""One exception hierarchy for every service.

    NimbusError                      500  unexpected
    ├── BadRequest                   400  malformed or invalid input
    ├── Unauthorized                 401  no or bad credentials
    ├── Forbidden                    403  policy says no
    ├── NotFound                     404  no such resource (or not visible to the caller)
    ├── MethodNotAllowed             405
    ├── NotAcceptable                406  e.g. an unsupported microversion
    ├── Conflict                     409  state or uniqueness conflict
    ├── OverLimit                    413  quota exceeded
    ├── UnsupportedMediaType         415
    ├── NotImplementedYet            501  a service or feature not built yet
    ├── ServiceUnavailable           503
    └── RpcError                     RPC failures (see core.rpc)

Each class declares its status and a message template; the HTTP layer renders the
message in the owning API's OpenStack error body (see `core.http`).
"""

from __future__ import annotations

from typing import ClassVar


class NimbusError(Exception):
    status: ClassVar[int] = 500
    template: ClassVar[str] = "An unexpected error occurred."
    # Keystone puts a human title in its error body; other APIs ignore it.
    title: ClassVar[str] = "Internal Server Error"

    def __init__(self, message: str | None = None, **params: object) -> None:
        self.params = params
        if message is None:
            try:
                message = self.template.format(**params)
            except (KeyError, IndexError):
                message = self.template
        self.message = message
        super().__init__(message)


class BadRequest(NimbusError):
    status, template, title = 400, "The request is invalid.", "Bad Request"


class Unauthorized(NimbusError):
    status, template, title = 401, "The request you have made requires authentication.", "Unauthorized"


class Forbidden(NimbusError):
    status, template, title = 403, "You are not authorized to perform the requested action.", "Forbidden"


class NotFound(NimbusError):
    status, template, title = 404, "Resource could not be found.", "Not Found"


class MethodNotAllowed(NimbusError):
    status, template, title = 405, "The method is not allowed for this resource.", "Method Not Allowed"


class NotAcceptable(NimbusError):
    status, template, title = 406, "The requested representation is not available.", "Not Acceptable"


class Conflict(NimbusError):
    status, template, title = 409, "The request conflicts with the current state.", "Conflict"


class OverLimit(NimbusError):
    status, template, title = 413, "Quota exceeded.", "Request Entity Too Large"


class UnsupportedMediaType(NimbusError):
    status, template, title = 415, "Unsupported media type.", "Unsupported Media Type"


class NotImplementedYet(NimbusError):
    status, template, title = 501, "{what} is not implemented yet.", "Not Implemented"


class ServiceUnavailable(NimbusError):
    status, template, title = 503, "The service is unavailable.", "Service Unavailable"


def error_for_status(status: int, message: str) -> NimbusError:
    """Build the generic error of an HTTP status (for errors that arrive from elsewhere)."""
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
                Conflict, OverLimit, UnsupportedMediaType, NotImplementedYet, ServiceUnavailable):
        if cls.status == status:
            return cls(message)
    return NimbusError(message)
