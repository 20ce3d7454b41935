"""One reading of other services' answers for every REST client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nimbus.core import errors
from nimbus.core.clients.answers import error_message, json_answer
from nimbus.core.clients.network import NetworkResourceNotFound


def _resp(status: int, body: Any = None, text: str | None = None) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text)
    return httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def test_error_message_reads_neutron_nova_and_cinder_bodies() -> None:
    neutron = {"NeutronError": {"type": "PortNotFound", "message": "Port p could not be found.",
                                "detail": ""}}
    cinder = {"itemNotFound": {"code": 404, "message": "Volume v could not be found."}}

    assert error_message(_resp(404, neutron)) == "Port p could not be found."
    assert error_message(_resp(404, cinder)) == "Volume v could not be found."
    assert error_message(_resp(502, text="  Bad Gateway\n")) == "Bad Gateway"
    assert error_message(_resp(400, {"a": 1, "b": 2})) == "{'a': 1, 'b': 2}"


def test_json_answer_maps_statuses_once() -> None:
    conflict = {"NeutronError": {"type": "IpAddressInUse", "message": "in use", "detail": ""}}

    with pytest.raises(NetworkResourceNotFound, match="gone"):
        json_answer(_resp(404, {"NeutronError": {"message": "gone"}}), "network",
                    NetworkResourceNotFound)
    with pytest.raises(errors.NimbusError, match="in use") as raised:
        json_answer(_resp(409, conflict), "network", NetworkResourceNotFound)
    assert raised.value.status == 409
    with pytest.raises(errors.ServiceUnavailable, match="network service answered 500"):
        json_answer(_resp(500, text="boom"), "network", NetworkResourceNotFound)
    assert json_answer(_resp(204), "network", NetworkResourceNotFound) == {}
    assert json_answer(_resp(200, {"port": {"id": "p"}}), "network",
                       NetworkResourceNotFound) == {"port": {"id": "p"}}
