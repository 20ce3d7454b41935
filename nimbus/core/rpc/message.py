"""What travels on the bus: targets, messages and replies, as JSON bytes.

Both transports move the bytes this module makes, so a payload that would not survive
RabbitMQ fails the same way in the all-in-one process. Arguments and results are JSON values;
dataclasses, UUIDs, datetimes and enums take their orjson form, and pydantic models their
`model_dump(mode="json")` form: the receiving side gets plain JSON values back and validates
them into its own models. Sets, bytes and dicts with non-string keys are refused.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from typing import Any

import orjson
import pydantic

from nimbus.core.rpc.errors import SerializationError

WIRE_VERSION = 1


class Kind(enum.StrEnum):
    CALL = "call"
    CAST = "cast"
    FANOUT = "fanout"


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a message goes: a topic, one server of it, or every server of it (fanout)."""

    topic: str
    server: str | None = None
    fanout: bool = False

    @property
    def name(self) -> str:
        """The queue of a direct target: `topic` (any server) or `topic.server` (that one)."""
        return self.topic if self.server is None else f"{self.topic}.{self.server}"


@dataclasses.dataclass(frozen=True)
class Message:
    kind: Kind
    target: Target
    method: str
    version: str
    args: dict[str, Any]
    context: dict[str, Any]
    request_id: str | None = None
    global_request_id: str | None = None
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    # Set by the transport on a message delivered again (a consumer died before acking it).
    redelivered: bool = dataclasses.field(default=False, compare=False)

    def encode(self) -> bytes:
        return dumps({
            "wire": WIRE_VERSION, "id": self.id, "kind": self.kind.value,
            "topic": self.target.topic, "server": self.target.server, "fanout": self.target.fanout,
            "method": self.method, "version": self.version, "args": self.args,
            "context": self.context, "request_id": self.request_id,
            "global_request_id": self.global_request_id,
        })

    @classmethod
    def decode(cls, body: bytes, *, redelivered: bool = False) -> Message:
        data = loads(body)
        try:
            return cls(kind=Kind(data["kind"]),
                       target=Target(data["topic"], data.get("server"), bool(data.get("fanout"))),
                       method=str(data["method"]), version=str(data["version"]),
                       args=dict(data["args"]), context=dict(data["context"]),
                       request_id=data.get("request_id"),
                       global_request_id=data.get("global_request_id"),
                       id=str(data["id"]), redelivered=redelivered)
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializationError(reason=f"not an RPC message ({exc!r})") from exc


@dataclasses.dataclass(frozen=True)
class Reply:
    """The answer to a call, already encoded: a result, or a declared error's wire form."""

    body: bytes

    @classmethod
    def result(cls, msg_id: str, value: Any) -> Reply:
        return cls(dumps({"wire": WIRE_VERSION, "id": msg_id, "result": value}))

    @classmethod
    def failure(cls, msg_id: str, error: dict[str, Any]) -> Reply:
        return cls(dumps({"wire": WIRE_VERSION, "id": msg_id, "error": error}))

    def decode(self) -> tuple[Any, dict[str, Any] | None]:
        """(result, None) or (None, error dict)."""
        data = loads(self.body)
        error = data.get("error")
        return data.get("result"), (dict(error) if error is not None else None)


def _default(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_default)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise SerializationError(reason=str(exc)) from exc


def loads(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SerializationError(reason=f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SerializationError(reason="not a JSON object")
    return data
