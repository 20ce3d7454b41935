"""The ASGI app factory every service's API uses.

    app = create_app(service="identity", render_error=keystone_error_body,
                     validator=validator, is_public=lambda method, path: ...)
    app.include_router(router)

Every response carries `X-Openstack-Request-Id`; an incoming `X-OpenStack-Request-ID`
becomes the global request id (oslo's convention), so one user request can be followed
across services. Errors render in the owning API's OpenStack shape; FastAPI's 422 becomes
a 400 there.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nimbus.core import errors
from nimbus.core.auth import TokenValidator
from nimbus.core.context import (
    RequestContext,
    global_request_id_var,
    new_request_id,
    request_id_var,
)

ErrorRenderer = Callable[[errors.NimbusError], Response]
PublicPredicate = Callable[[str, str], bool]

_REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# --- error bodies, one per API family ------------------------------------------------------

def keystone_error_body(exc: errors.NimbusError) -> Response:
    body = {"error": {"code": exc.status, "title": exc.title, "message": exc.message}}
    return OrjsonResponse(body, status_code=exc.status)


_NOVA_KEYS = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
              405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest",
              413: "overLimit", 415: "badMediaType", 501: "notImplemented",
              503: "serviceUnavailable"}


def nova_error_body(exc: errors.NimbusError) -> Response:
    key = _NOVA_KEYS.get(exc.status, "computeFault")
    return OrjsonResponse({key: {"code": exc.status, "message": exc.message}},
                          status_code=exc.status)


def neutron_error_body(exc: errors.NimbusError) -> Response:
    body = {"NeutronError": {"type": type(exc).__name__, "message": exc.message, "detail": ""}}
    return OrjsonResponse(body, status_code=exc.status)


def glance_error_body(exc: errors.NimbusError) -> Response:
    text = f"{exc.status} {exc.title}\n\n{exc.message}\n\n   "
    return PlainTextResponse(text, status_code=exc.status)


# --- middleware ---------------------------------------------------------------------------

ResponseHeaders = Callable[[Scope], list[tuple[bytes, bytes]]]
"""Headers for every response to a request (the microversion served, say), from its scope."""


class TokenAuth:
    """Validates X-Auth-Token and stores the RequestContext; a request that needs a token and
    has no valid one gets the API's 401, with `WWW-Authenticate` where the API sends one."""

    def __init__(self, validator: TokenValidator, is_public: PublicPredicate,
                 render_error: ErrorRenderer, www_authenticate: str | None = None) -> None:
        self.validator = validator
        self.is_public = is_public
        self.render_error = render_error
        self.www_authenticate = www_authenticate

    async def rejection(self, scope: Scope) -> Response | None:
        """None when the request may go on (the context, if any, is in the scope's state)."""
        state = scope["state"]
        token = _header(scope, b"x-auth-token")
        if token:
            try:
                ctx = await self.validator.validate(token)
            except errors.Unauthorized as exc:
                if not self.is_public(scope["method"], route_path(scope)):
                    return self._reject(exc)
            else:
                state["context"] = ctx.replace(
                    request_id=state.get("request_id") or new_request_id(),
                    global_request_id=state.get("global_request_id"))
        elif not self.is_public(scope["method"], route_path(scope)):
            return self._reject(errors.Unauthorized())
        return None

    def _reject(self, exc: errors.NimbusError) -> Response:
        response = self.render_error(exc)
        if self.www_authenticate:
            response.headers["WWW-Authenticate"] = self.www_authenticate
        return response


class ApiMiddleware:
    """What every request meets before its route, in this order:

    1. the headers its responses will carry for the API (`response_headers`, if any: the
       microversion served);
    2. a request id of its own, and the caller's global one if well formed, in the scope's
       state and the logging context, echoed in `X-Openstack-Request-Id` (and the API's
       legacy header, if any);
    3. the token check (`auth`, if any);
    4. the app: an exception no handler knows is logged with the request id and answered
       with a generic 500. Starlette's own server-error handler re-raises after answering;
       this does not, so a bug costs one request and never leaks a traceback.

    Then one access-log line. These were four middlewares, each with its own wrapper around
    `send`; as one, a request pays for one.
    """

    def __init__(self, app: ASGIApp, *, log: logging.Logger, render_error: ErrorRenderer,
                 auth: TokenAuth | None, extra_request_id_header: str | None = None,
                 response_headers: ResponseHeaders | None = None) -> None:
        self.app = app
        self.log = log
        self.render_error = render_error
        self.auth = auth
        self.id_headers = [b"x-openstack-request-id"]
        if extra_request_id_header:
            self.id_headers.append(extra_request_id_header.lower().encode())
        self.response_headers = response_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.response_headers(scope) if self.response_headers else []
        request_id = self._start_request(scope)
        added = [(name, request_id.encode()) for name in self.id_headers] + extra
        started = time.monotonic()
        status: int | None = None

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *added]
                status = message["status"]
            await send(message)

        rejection = await self.auth.rejection(scope) if self.auth else None
        if rejection is not None:
            await rejection(scope, receive, send_with_headers)
        else:
            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                self.log.exception("unexpected error")
                if status is None:
                    await self.render_error(errors.NimbusError())(scope, receive,
                                                                  send_with_headers)
        self.log.info('%s "%s %s" status: %s time: %.4f', scope.get("client", ("-",))[0],
                      scope["method"], scope["path"],  # Starlette's path has the mount prefix
                      "-" if status is None else status, time.monotonic() - started)

    @staticmethod
    def _start_request(scope: Scope) -> str:
        request_id = new_request_id()
        incoming = _header(scope, b"x-openstack-request-id")
        global_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else None
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["global_request_id"] = global_id
        request_id_var.set(request_id)
        global_request_id_var.set(global_id)
        return request_id


def route_path(scope: Scope) -> str:
    """The path below the app's mount point (Starlette keeps the full path in scope)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


# --- request context dependency ------------------------------------------------------------

# Dependencies are async on purpose: FastAPI runs plain `def` dependencies in a thread pool,
# which costs more than the whole token validation.
async def get_context(request: Request) -> RequestContext:
    ctx = getattr(request.state, "context", None)
    if ctx is None:
        raise errors.Unauthorized()
    assert isinstance(ctx, RequestContext)
    return ctx


async def get_optional_context(request: Request) -> RequestContext | None:
    ctx = getattr(request.state, "context", None)
    return ctx if isinstance(ctx, RequestContext) else None


Ctx = Annotated[RequestContext, Depends(get_context)]
OptionalCtx = Annotated[RequestContext | None, Depends(get_optional_context)]


# --- the factory ---------------------------------------------------------------------------

# FastAPI's OpenTelemetry hooks export nothing here (Nimbus ships no OpenTelemetry SDK; its
# request log and request ids follow a request), yet they looked for a configured provider on
# every request: about 8 us of a version document's 180.
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(*, service: str, render_error: ErrorRenderer, validator: TokenValidator | None,
               is_public: PublicPredicate = lambda method, path: False,
               www_authenticate: str | None = None,
               extra_request_id_header: str | None = None,
               response_headers: ResponseHeaders | None = None) -> FastAPI:
    """A FastAPI app with Nimbus's error handling, request ids and token auth.

    `validator` None means no token check (only for apps that are wholly public);
    `response_headers` adds the API's own headers to every response (its microversion).
    """
    app = FastAPI(title=f"nimbus-{service}", docs_url=None, redoc_url=None,
                  openapi_url=None, default_response_class=OrjsonResponse,
                  telemetry=_NO_TELEMETRY)
    log = logging.getLogger(f"nimbus.{service}.api")

    @app.exception_handler(errors.NimbusError)
    async def nimbus_error(_request: Request, exc: errors.NimbusError) -> Response:
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc.message)
        return render_error(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return render_error(errors.BadRequest(describe_validation_error(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        err = errors.error_for_status(exc.status_code, detail or "")
        if not detail:
            err = errors.error_for_status(exc.status_code, type(err).template)
        response = render_error(err)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    auth = (TokenAuth(validator, is_public, render_error, www_authenticate)
            if validator is not None else None)
    app.add_middleware(ApiMiddleware, log=log, render_error=render_error, auth=auth,
                       extra_request_id_header=extra_request_id_header,
                       response_headers=response_headers)
    return app


def describe_validation_error(exc: RequestValidationError) -> str:
    """A one-line, client-facing description of the first validation problem."""
    problems = exc.errors()
    if not problems:
        return "The request is invalid."
    first = problems[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    where = ".".join(loc)
    if first.get("type") == "json_invalid":
        return "Malformed JSON in request body."
    if first.get("type") == "missing":
        return f"'{where}' is a required property" if where else "A request body is required."
    return f"Invalid input for field/attribute {where}: {first.get('msg')}" if where else \
        str(first.get("msg"))


# --- versions and microversions --------------------------------------------------------------

def service_url(request: Request) -> str:
    """The URL of this service's root as the client sees it (mount prefix included)."""
    root = request.scope.get("root_path", "")
    return f"{request.url.scheme}://{request.url.netloc}{root}".rstrip("/")


def parse_microversion(value: str | None, service_type: str, *, minimum: tuple[int, int],
                       maximum: tuple[int, int]) -> tuple[int, int]:
    """The version asked for by an `OpenStack-API-Version` header value (or the legacy one).

    No header means the minimum; `latest` the maximum; out of range is 406, malformed 400.
    """
    if not value:
        return minimum
    wanted: str | None = None
    for part in value.split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == service_type:
            wanted = words[1]
        elif len(words) == 1:
            wanted = words[0]  # the legacy header carries just the number
    if wanted is None:
        return minimum
    if wanted.lower() == "latest":
        return maximum
    match = re.fullmatch(r"(\d+)\.(\d+)", wanted.strip())
    if not match:
        raise errors.BadRequest(f"Invalid API version format {wanted!r}.")
    version = (int(match.group(1)), int(match.group(2)))
    if not minimum <= version <= maximum:
        raise errors.NotAcceptable(
            f"Version {wanted} is not supported by the API. Minimum is "
            f"{minimum[0]}.{minimum[1]} and maximum is {maximum[0]}.{maximum[1]}.")
    return version
