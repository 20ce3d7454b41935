"""Compute's errors, rendered as Nova's `{"<key>": {"code", "message"}}` (core.http.nova_error_body).

    BadRequest  -> InvalidInput, InvalidKeypair
    NotFound    -> FlavorNotFound, FlavorExtraSpecNotFound, FlavorAccessNotFound, KeypairNotFound
    Conflict    -> FlavorExists, FlavorAccessExists, FlavorIsPublic, KeypairExists
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
