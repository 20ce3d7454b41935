"""Compute's errors, rendered as Nova's `{"<key>": {"code", "message"}}` (core.http.nova_error_body).

    BadRequest  -> InvalidInput, InvalidKeypair
    NotFound    -> FlavorNotFound, FlavorExtraSpecNotFound, FlavorAccessNotFound, KeypairNotFound
    NotFound    -> ServerNotFound, ServerGroupNotFound
    Conflict    -> FlavorExists, FlavorAccessExists, FlavorIsPublic, KeypairExists,
                   InstanceInvalidState, InstanceLocked
    Forbidden   -> QuotaExceeded
    NimbusError -> NoValidHost (500; recorded as a fault, never an HTTP answer)
"""

from __future__ import annotations

from nimbus.core import errors


class InvalidInput(errors.BadRequest):
    template = "Invalid input received: {reason}"


class FlavorNotFound(errors.NotFound):
    template = "Flavor {flavor_id} could not be found."


class FlavorExists(errors.Conflict):
    template = "Flavor with {field} {value} already exists."


class FlavorExtraSpecNotFound(errors.NotFound):
    template = "Flavor {flavor_id} has no extra specs with key {key}."


class FlavorAccessNotFound(errors.NotFound):
    template = "Flavor access not found for {flavor_id} / {project_id} combination."


class FlavorAccessExists(errors.Conflict):
    template = "Flavor access already exists for flavor {flavor_id} and project {project_id} combination."


class FlavorIsPublic(errors.Conflict):
    template = "Can not add access to a public flavor."


class KeypairNotFound(errors.NotFound):
    template = "Keypair {name} not found for user {user_id}"


class KeypairExists(errors.Conflict):
    template = "Key pair '{name}' already exists."


class InvalidKeypair(errors.BadRequest):
    template = "Keypair data is invalid: {reason}"


class ServerNotFound(errors.NotFound):
    template = "Instance {server_id} could not be found."


class InstanceInvalidState(errors.Conflict):
    template = "Cannot '{action}' instance {server_id} while it is in {attr} {state}"


class InstanceLocked(errors.Conflict):
    template = "Instance {server_id} is locked"


class QuotaExceeded(errors.Forbidden):
    template = ("Quota exceeded for {resources}: Requested {requested}, but already used {used} "
                "of {allowed} {resources}")


class NoValidHost(errors.NimbusError):
    """Scheduling found no host; travels over RPC to the conductor, which records a fault."""

    status, template = 500, "No valid host was found. {reason}"


class ServerGroupNotFound(errors.NotFound):
    template = "Instance group {group_uuid} could not be found."
