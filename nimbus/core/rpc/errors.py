"""RPC errors, and how a handler's exception crosses the wire.

    NimbusError
    └── RpcError                   500  an RPC failed
        ├── RpcTimeout             500  no reply within the call's timeout
        ├── RemoteError            500  the handler raised an undeclared exception
        ├── UnsupportedVersion     500  the server cannot serve the requested API version
        ├── NoSuchMethod           500  the endpoint has no such public method
        ├── SerializationError     500  a payload is not JSON-serializable (or not JSON)
        └── TransportError         503  the message bus did not take the message

A handler's exception is *declared* when it is a `NimbusError` or a class registered with
`allow()`; it travels as (class name, message, params or args) and the caller gets the same
class back. Anything else travels as a `RemoteError` naming the remote type, and the server
logs it with its traceback. The caller must know the class (its module imported) to re-raise
it; an unknown name also becomes a `RemoteError`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from nimbus.core.errors import NimbusError

E = TypeVar("E", bound=type[BaseException])

_ALLOWED: dict[str, type[BaseException]] = {}


class RpcError(NimbusError):
    template = "A remote procedure call failed."


class RpcTimeout(RpcError):
    template = "No reply to {method} from {target} within {timeout} seconds."


class RemoteError(RpcError):
    template = "Remote error: {exc_type} {value}"

    @property
    def exc_type(self) -> str:
        return str(self.params.get("exc_type", ""))

    @property
    def value(self) -> str:
        return str(self.params.get("value", ""))


class UnsupportedVersion(RpcError):
    template = "{target} does not support RPC API version {version} (it serves {served})."


class NoSuchMethod(RpcError):
    template = "{target} has no RPC method {method}."


class SerializationError(RpcError):
    template = "The RPC payload cannot be serialized: {reason}"


class TransportError(RpcError):
    status = 503
    template = "The message bus did not accept the message: {reason}"


def type_name(cls: type[BaseException]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def allow(cls: E) -> E:
    """Declare an exception that is not a NimbusError as expected from RPC handlers.

    Usable as a class decorator. Both ends must have registered it (they run the same code).
    """
    _ALLOWED[type_name(cls)] = cls
    return cls


def is_declared(exc: BaseException) -> bool:
    return isinstance(exc, NimbusError) or _ALLOWED.get(type_name(type(exc))) is type(exc)


def error_to_dict(exc: BaseException) -> dict[str, Any]:
    """The wire form of a declared exception; undeclared ones become a RemoteError first."""
    if not is_declared(exc):
        exc = RemoteError(exc_type=type_name(type(exc)), value=str(exc))
    data: dict[str, Any] = {"type": type_name(type(exc)), "message": str(exc)}
    if isinstance(exc, NimbusError):
        data["params"] = exc.params
    else:
        data["args"] = list(exc.args)
    return data


def error_from_dict(data: dict[str, Any]) -> BaseException:
    """Rebuild the exception a server sent; a RemoteError when the class is unknown here."""
    name, message = str(data.get("type")), str(data.get("message", ""))
    cls = _ALLOWED.get(name) or _nimbus_error_class(name)
    if cls is None:
        return RemoteError(exc_type=name, value=message)
    try:
        if issubclass(cls, NimbusError):
            return cls(message, **dict(data.get("params") or {}))
        return cls(*(data.get("args") or [message]))
    except Exception:  # a class whose constructor wants something else
        return RemoteError(exc_type=name, value=message)


def _nimbus_error_class(name: str) -> type[NimbusError] | None:
    stack: list[type[NimbusError]] = [NimbusError]
    while stack:
        cls = stack.pop()
        if type_name(cls) == name:
            return cls
        stack.extend(cls.__subclasses__())
    return None
