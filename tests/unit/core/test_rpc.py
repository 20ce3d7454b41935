"""Pure parts of core.rpc: wire format, versions, error mapping, transport selection."""

from __future__ import annotations

import dataclasses
import uuid

import pydantic
import pytest

from nimbus.core.errors import Conflict, NimbusError
from nimbus.core.rpc import (
    AmqpTransport,
    MemoryTransport,
    Message,
    RemoteError,
    Reply,
    RpcTimeout,
    SerializationError,
    Target,
    allow,
    transport_from_url,
)
from nimbus.core.rpc.amqp import AmqpNames
from nimbus.core.rpc.errors import error_from_dict, error_to_dict, is_declared
from nimbus.core.rpc.message import Kind
from nimbus.core.rpc.server import version_is_compatible


class FlavorInUse(Conflict):
    template = "Flavor {flavor_id} is in use."


@allow
class DiskFull(Exception):
    pass


class Size(pydantic.BaseModel):
    vcpus: int
    ram_mb: int


@dataclasses.dataclass
class Point:
    x: int
    y: int


def message(**args: object) -> Message:
    return Message(kind=Kind.CALL, target=Target("compute", "node1"), method="spawn",
                   version="1.2", args=dict(args), context={"user_id": "u"},
                   request_id="req-1", global_request_id="req-g")


def test_target_name_is_the_topic_or_topic_dot_server() -> None:
    assert Target("compute").name == "compute"
    assert Target("compute", "node1").name == "compute.node1"


def test_message_round_trips_through_json_bytes() -> None:
    msg = message(flavor="m1", count=2, tags=["a"], nested={"k": None})
    body = msg.encode()
    assert isinstance(body, bytes)
    back = Message.decode(body, redelivered=True)
    assert back == msg and back.redelivered


def test_models_dataclasses_and_uuids_travel_as_their_json_form() -> None:
    ident = uuid.uuid4()
    back = Message.decode(message(size=Size(vcpus=2, ram_mb=512), at=Point(1, 2), id=ident,
                                  pair=(1, 2)).encode())
    assert back.args == {"size": {"vcpus": 2, "ram_mb": 512}, "at": {"x": 1, "y": 2},
                         "id": str(ident), "pair": [1, 2]}


@pytest.mark.parametrize("value", [{1, 2}, {1: "int key"}, object(), b"bytes"])
def test_payloads_json_cannot_carry_are_refused(value: object) -> None:
    with pytest.raises(SerializationError):
        message(value=value).encode()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"kind": "call"}', b'{"kind": "x"}'])
def test_garbage_is_not_a_message(body: bytes) -> None:
    with pytest.raises(SerializationError):
        Message.decode(body)


def test_reply_carries_a_result_or_an_error() -> None:
    assert Reply.result("id", [1, {"a": "b"}]).decode() == ([1, {"a": "b"}], None)
    assert Reply.failure("id", {"type": "x", "message": "m"}).decode() == (
        None, {"type": "x", "message": "m"})


@pytest.mark.parametrize(("served", "wanted", "ok"), [
    ("1.0", "1.0", True), ("1.3", "1.0", True), ("1.3", "1.3", True), ("1.3", "1.4", False),
    ("1.3", "2.0", False), ("2.1", "1.0", False), ("1", "1.0", True), ("1.0", "x.y", False),
])
def test_version_major_must_match_and_minor_must_not_exceed(served: str, wanted: str,
                                                           ok: bool) -> None:
    assert version_is_compatible(served, wanted) is ok


def test_nimbus_errors_round_trip_with_their_params() -> None:
    data = error_to_dict(FlavorInUse(flavor_id="f1"))
    assert data["type"].endswith("test_rpc.FlavorInUse")
    back = error_from_dict(data)
    assert type(back) is FlavorInUse and str(back) == "Flavor f1 is in use."
    assert back.params == {"flavor_id": "f1"} and back.status == 409


def test_allowed_errors_round_trip_with_their_args() -> None:
    assert is_declared(DiskFull("no space", 7))
    back = error_from_dict(error_to_dict(DiskFull("no space", 7)))
    assert type(back) is DiskFull and back.args == ("no space", 7)


def test_undeclared_errors_become_remote_errors() -> None:
    assert not is_declared(ValueError("bad"))
    back = error_from_dict(error_to_dict(ValueError("bad")))
    assert isinstance(back, RemoteError)
    assert back.exc_type == "builtins.ValueError" and back.value == "bad"
    assert "builtins.ValueError bad" in str(back)


def test_an_error_class_unknown_here_becomes_a_remote_error() -> None:
    back = error_from_dict({"type": "nimbus.elsewhere.errors.Gone", "message": "gone",
                            "params": {}})
    assert isinstance(back, RemoteError) and back.exc_type == "nimbus.elsewhere.errors.Gone"


def test_remote_errors_and_timeouts_travel_on_through_nested_calls() -> None:
    remote = error_from_dict(error_to_dict(RemoteError(exc_type="builtins.KeyError", value="k")))
    assert isinstance(remote, RemoteError) and remote.exc_type == "builtins.KeyError"
    timeout = error_from_dict(error_to_dict(RpcTimeout(method="m", target="t", timeout=1.0)))
    assert isinstance(timeout, RpcTimeout) and isinstance(timeout, NimbusError)


def test_transport_from_url_picks_by_scheme() -> None:
    assert isinstance(transport_from_url("memory://"), MemoryTransport)
    for url in ("amqp://guest:guest@mq:5672/", "rabbit://guest:guest@mq:5672/"):
        transport = transport_from_url(url)
        assert isinstance(transport, AmqpTransport)
        assert transport.url.scheme == "amqp" and transport.names.prefix == "nimbus"
    renamed = transport_from_url("amqp://mq/?prefix=cell1&heartbeat=30")
    assert isinstance(renamed, AmqpTransport) and renamed.names.prefix == "cell1"
    assert "prefix" not in renamed.url.query and renamed.url.query["heartbeat"] == "30"
    with pytest.raises(ValueError, match="kafka"):
        transport_from_url("kafka://broker")


def test_amqp_names_carry_the_prefix() -> None:
    names = AmqpNames("p")
    assert names.queue(Target("compute")) == "p.compute"
    assert names.queue(Target("compute", "n1")) == "p.compute.n1"
    assert names.fanout_exchange("compute") == "p.compute_fanout"
    assert names.fanout_queue(Target("compute", "n1", fanout=True)).startswith("p.compute_fanout.n1.")
    assert names.reply_queue() != names.reply_queue()
