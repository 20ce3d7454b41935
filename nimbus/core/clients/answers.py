"""What the REST clients make of another service's answer, mapped once for all of them:

    answer = json_answer(resp, "network", NetworkResourceNotFound)

404 raises the client's not-found error, other 4xx keep their status and the service's
message, anything else that is not a success is 503.
"""

from __future__ import annotations

from typing import Any

import httpx

from nimbus.core import errors


def error_message(resp: httpx.Response) -> str:
    """The message of an OpenStack error body, whichever service wrote it: Nova's and
    Cinder's `{"itemNotFound": {"message": ...}}` and Neutron's `{"NeutronError": {...}}` alike
    hold one object with a message; else the start of the body."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200]
    if isinstance(body, dict) and len(body) == 1:
        [inner] = body.values()
        if isinstance(inner, dict) and "message" in inner:
            return str(inner["message"])
    return str(body)[:200]


def json_answer(resp: httpx.Response, service: str,
                not_found: type[errors.NotFound]) -> dict[str, Any]:
    """The JSON body of a successful answer ({} when it has none), else the mapped error.
    `not_found` takes the service's message as `message`."""
    if resp.status_code == 404:
        raise not_found(message=error_message(resp))
    if 400 <= resp.status_code < 500:
        raise errors.error_for_status(resp.status_code, error_message(resp))
    if resp.status_code >= 300:
        raise errors.ServiceUnavailable(
            f"The {service} service answered {resp.status_code}: {error_message(resp)}")
    if resp.status_code == 204 or not resp.content:
        return {}
    answer: dict[str, Any] = resp.json()
    return answer
