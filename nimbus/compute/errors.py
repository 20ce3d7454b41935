"""Compute's errors, rendered as Nova's `{"<key>": {"code", "message"}}` (core.http.nova_error_body).

    BadRequest  -> InvalidInput, InvalidKeypair, InvalidTag, TagLimitExceeded,
                   ServiceNotUpdatable, QuotaBelowUsage, InvalidAggregateAction,
                   ActionNotSupported, InvalidSharedStorage
    NotFound    -> FlavorNotFound, FlavorExtraSpecNotFound, FlavorAccessNotFound, KeypairNotFound
    NotFound    -> ServerNotFound, ServerGroupNotFound, ServiceNotFound, HostBinaryNotFound,
                   HypervisorNotFound, NoHypervisorMatch, MetadataItemNotFound,
                   ServerTagNotFound, InstanceTagNotFound, NetworkNotAttached,
                   AggregateNotFound, ComputeHostNotFound, AggregateHostNotFound
    Conflict    -> FlavorExists, FlavorAccessExists, FlavorIsPublic, KeypairExists,
                   InstanceInvalidState, InstanceLocked, ServiceHostsInstances,
                   AggregateNameExists, AggregateHostExists, AggregateHostConflict,
                   InstanceNotReady
    Forbidden   -> QuotaExceeded, MetadataLimitExceeded, KeypairLimitExceeded,
                   ServerGroupLimitExceeded, GroupMemberLimitExceeded
    NotImplementedYet -> FeatureNotSupported (501)
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


class InstanceNotReady(errors.Conflict):
    template = "Instance {server_id} is not ready"


class ActionNotSupported(errors.BadRequest):
    template = "The hypervisor of instance {server_id} cannot {action}."


class QuotaExceeded(errors.Forbidden):
    template = ("Quota exceeded for {resources}: Requested {requested}, but already used {used} "
                "of {allowed} {resources}")


class NoValidHost(errors.NimbusError):
    """Scheduling found no host; travels over RPC to the conductor, which records a fault."""

    status, template = 500, "No valid host was found. {reason}"


class ServerGroupNotFound(errors.NotFound):
    template = "Instance group {group_uuid} could not be found."


# -- os-services, os-hypervisors ----------------------------------------------------------


class ServiceNotFound(errors.NotFound):
    template = "Service {service_id} could not be found."


class HostBinaryNotFound(errors.NotFound):
    template = "Could not find binary {binary} on host {host}."


class ServiceNotUpdatable(errors.BadRequest):
    template = ("Updating a {binary} service is not supported. Only nova-compute services "
                "can be updated.")


class ServiceHostsInstances(errors.Conflict):
    template = ("Unable to delete compute service that is hosting instances. Migrate or delete "
                "the instances first.")


class ServiceHasMigrations(errors.Conflict):
    template = ("Unable to delete compute service that has in-progress migrations. Complete "
                "the migrations or delete the instances first.")


class HypervisorNotFound(errors.NotFound):
    template = "Hypervisor with ID '{hypervisor_id}' could not be found."


class NoHypervisorMatch(errors.NotFound):
    template = "No hypervisor matching '{pattern}' could be found."


class FeatureNotSupported(errors.NotImplementedYet):
    template = "The requested functionality is not supported."


# -- quotas --------------------------------------------------------------------------------


class QuotaBelowUsage(errors.BadRequest):
    template = ("Quota limit {limit} for {resource} must be greater than or equal to already "
                "used and reserved {minimum}.")


class MetadataLimitExceeded(errors.Forbidden):
    template = "Maximum number of metadata items exceeds {allowed}"


class KeypairLimitExceeded(errors.Forbidden):
    template = "Quota exceeded, too many key pairs."


class ServerGroupLimitExceeded(errors.Forbidden):
    template = "Quota exceeded, too many server groups."


class GroupMemberLimitExceeded(errors.Forbidden):
    template = "Quota exceeded, too many servers in group"


# -- server metadata, tags, addresses ------------------------------------------------------


class MetadataItemNotFound(errors.NotFound):
    template = "Metadata item was not found"


class InvalidTag(errors.BadRequest):
    template = ("Tag '{tag}' is invalid. It must be a non empty string without characters '/' "
                "and ','. Validation error message: {reason}")


class TagLimitExceeded(errors.BadRequest):
    template = "The number of tags exceeded the per-server limit {limit}"


class ServerTagNotFound(errors.NotFound):
    template = "Server {server_id} has no tag '{tag}'"


class InstanceTagNotFound(errors.NotFound):
    template = "Instance {server_id} has no tag '{tag}'"


class NetworkNotAttached(errors.NotFound):
    template = "Instance is not a member of specified network"


# -- host aggregates -------------------------------------------------------------------------


class AggregateNotFound(errors.NotFound):
    template = "Aggregate {aggregate_id} could not be found."


class AggregateNameExists(errors.Conflict):
    template = "Aggregate {aggregate_name} already exists."


class ComputeHostNotFound(errors.NotFound):
    template = "Compute host {host} could not be found."


class AggregateHostExists(errors.Conflict):
    template = "Aggregate {aggregate_id} already has host {host}."


class AggregateHostNotFound(errors.NotFound):
    template = "Cannot remove host {host} in aggregate {aggregate_id}"


class InvalidAggregateAction(errors.BadRequest):
    """Update, set_metadata and delete refused (`action`: "update", "update metadata of",
    "remove host from"); 400 as in Nova."""

    template = "Cannot {action} aggregate {aggregate_id}. Reason: {reason}."


class AggregateHostConflict(errors.Conflict):
    """add_host and remove_host refused for the zone they would change: 409 as in Nova."""

    template = "Cannot {action} aggregate {aggregate_id}. Reason: {reason}."


class MigrationNotFound(errors.NotFound):
    template = "Migration {migration_id} could not be found."


class InvalidSharedStorage(errors.BadRequest):
    """A live migration without block migration from a host whose guest disks no other host
    sees: Nova's live-migration pre-check refuses it."""

    template = "{path} is not on shared storage: {reason}"


class InvalidMigrationState(errors.BadRequest):
    template = ("Migration {migration_id} state of instance {server_id} is {state}. Cannot "
                "{action} while the migration is in this state.")


# -- volumes (os-volume_attachments, boot from volume) ----------------------------------------

class VolumeNotFound(errors.NotFound):
    template = "Volume {volume_id} could not be found."


class VolumeNotAttached(errors.NotFound):
    template = "volume_id not found: {volume_id}"


class InvalidVolume(errors.BadRequest):
    template = "Invalid volume: {reason}"


class VolumeAttachFailed(errors.BadRequest):
    template = "Volume {volume_id} could not be attached to server {server_id}: {reason}"
